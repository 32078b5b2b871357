"""Backups over the management API (``system-admin``): ``POST /api/v1/backup`` answers with the archive.

The archive is what ``sild central backup`` writes (``trust.backup``: the registry as
of one commit while the authority serves, its signing keys, ``central.json`` and the
published configuration, with a manifest; encrypted when the JSON body carries a
``passphrase``), streamed from an already unlinked temporary file. A restore cannot
run through the authority it replaces (its registry connection and generator would
outlive the swap), so ``POST /api/v1/restore`` always answers 409 and names the
command that restores a stopped authority.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from trust.backup import BackupError, BackupRefused, backup_download

from federation.central import CENTRAL_BACKUP
from ._http import ADMIN, ApiContext, ApiError, json_body


def _refusal(message: str, code: str, status: int) -> ApiError:
    error = ApiError(message, code=code)
    error.http_status = status
    return error


def backup_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("backup", __name__, url_prefix="/api/v1")

    @bp.post("/backup")
    @ctx.requires(ADMIN)
    def backup() -> Response:
        passphrase = json_body().get("passphrase") if request.content_length else None
        if passphrase is not None and (not isinstance(passphrase, str) or not passphrase):
            raise ApiError("passphrase must be a non-empty string", code="api.invalid_field")
        try:
            download = backup_download(ctx.home.path, CENTRAL_BACKUP, passphrase=passphrase)
        except BackupRefused as exc:
            raise _refusal(exc.message, exc.code, 409) from exc
        except BackupError as exc:
            raise _refusal(exc.message, exc.code, 503) from exc
        return Response(download.chunks, content_type=download.content_type,
                        headers={"Content-Length": str(download.size),
                                 "Content-Disposition": f'attachment; filename="{download.filename}"'})

    @bp.post("/restore")
    @ctx.requires(ADMIN)
    def restore() -> Response:
        raise _refusal("a running authority cannot be restored (its registry and generator would outlive the swap); "
                       "stop it and run `.venv/bin/sild central restore DIR FILE`", "api.restore_online", 409)

    return bp
