"""Backups over the admin API: ``POST /api/v1/backup`` answers with the archive; restore is refused online.

The archive is what ``sild gateway backup`` writes (``trust.backup``: a consistent
snapshot of every database while the gateway serves, settings, keys, certificates,
a manifest; encrypted when the JSON body carries a ``passphrase``). It is written to
a temporary file first, since its size is known only at the end and a tar cannot be
produced by pulling; the file is unlinked at once and streamed from its open handle,
so it leaves nothing behind however the download ends. Only the ``admin`` role may
take a backup: it holds the token's keys and the whole message log.

A restore cannot run through the API of the gateway it replaces: the node's open
databases, its in-memory configuration and its workers would outlive the swap and
write over what was restored. ``POST /api/v1/restore`` therefore always answers 409
and names the command that restores a stopped gateway.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from trust.backup import BackupError, BackupRefused, write_backup

from gateway.provision import GATEWAY_BACKUP

from ._auth import Routes
from ._config import AdminConfig
from ._http import ApiError, body

_CHUNK = 1 << 20


def _stream(handle: Any) -> Iterator[bytes]:
    with handle:
        while block := handle.read(_CHUNK):
            yield block


def backup_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("backup", __name__, config.conf)

    @api.route("POST", "/api/v1/backup", "admin")
    def backup() -> Any:
        if config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory to back up")
        passphrase = body().text("passphrase", required=False) if request.content_length else None
        if passphrase == "":
            raise ApiError(400, "gateway.admin.bad_field", "field 'passphrase' must not be empty")
        scratch = Path(tempfile.mkdtemp(prefix="sild-backup-"))
        try:
            manifest = write_backup(config.directory, scratch / "backup", GATEWAY_BACKUP, passphrase=passphrase)
            handle = (scratch / "backup").open("rb")
            size = (scratch / "backup").stat().st_size
        except BackupRefused as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        except BackupError as exc:
            raise ApiError(500, exc.code, exc.message) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # the open handle keeps the file readable
        name = (f"{manifest.identity.replace('/', '_')}-{manifest.created_at:%Y%m%dT%H%M%SZ}"
                f"{'.bak' if passphrase else '.tar.gz'}")
        return Response(_stream(handle), content_type="application/octet-stream" if passphrase else "application/gzip",
                        headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})

    @api.route("POST", "/api/v1/restore", "admin")
    def restore() -> Any:
        raise ApiError(409, "gateway.admin.restore_online",
                       "a running gateway cannot be restored (its open databases would outlive the swap); stop it and "
                       "run `.venv/bin/sild gateway restore DIR FILE`")

    return api.blueprint
