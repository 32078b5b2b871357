"""Backups over the admin API: ``POST /api/v1/backup`` answers with the archive; restore is refused online.

The archive is what ``sild gateway backup`` writes (``trust.backup``: a consistent
snapshot of every database while the gateway serves, settings, keys, certificates,
a manifest; encrypted when the JSON body carries a ``passphrase``), streamed from a
temporary file that is already unlinked (:func:`trust.backup.backup_download`).
Only the ``admin`` role may take a backup: it holds the token's keys and the whole
message log.

A restore cannot run through the API of the gateway it replaces: the node's open
databases, its in-memory configuration and its workers would outlive the swap and
write over what was restored. ``POST /api/v1/restore`` therefore always answers 409
and names the command that restores a stopped gateway.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from trust.backup import BackupError, BackupRefused, backup_download

from gateway.provision import GATEWAY_BACKUP

from .._auth import Routes
from .._config import AdminConfig
from .._http import ApiError, body


def backup_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("backup", __name__, config.conf)

    @api.route("POST", "/api/v1/backup", "admin")
    def backup() -> Any:
        if config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory to back up")
        passphrase = body().text("passphrase", required=False) if request.content_length else None
        if passphrase == "":
            raise ApiError(400, "gateway.admin.bad_field", "field 'passphrase' must not be empty")
        try:
            download = backup_download(config.directory, GATEWAY_BACKUP, passphrase=passphrase)
        except BackupRefused as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        except BackupError as exc:
            raise ApiError(500, exc.code, exc.message) from exc
        return Response(download.chunks, content_type=download.content_type,
                        headers={"Content-Length": str(download.size),
                                 "Content-Disposition": f'attachment; filename="{download.filename}"'})

    @api.route("POST", "/api/v1/restore", "admin")
    def restore() -> Any:
        raise ApiError(409, "gateway.admin.restore_online",
                       "a running gateway cannot be restored (its open databases would outlive the swap); stop it and "
                       "run `.venv/bin/sild gateway restore DIR FILE`")

    return api.blueprint
