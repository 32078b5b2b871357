"""How the admin API answers a failure: one JSON error shape, one status table.

The body is the shape both admin APIs share (:func:`trust.infra.error_body`):
``{"code": ..., "message": ..., "error": {"code": ..., "message": ...}}``, where the
nested ``error`` is what this API answered before the shapes were joined
(deprecated in ``admin_api.yaml``, kept so no client breaks).

A refusal by the API itself (:class:`~gateway.admin._http.ApiError`) carries its
status. A :class:`~trust.errors.SildError` from the configuration, the message log or
operational monitoring gets its status from :data:`STATUS`, keyed by error code (its
own code, then the codes of its classes; see :func:`trust.infra.status_for`);
anything else is a refusal of bad input (400). Werkzeug's HTTP errors keep their
status. An unexpected exception is a 500 that names only a correlation id: the
details go to the log, never to the caller.
"""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from trust.errors import SildError
from trust.infra import error_body, status_for

from ._http import ApiError

log = logging.getLogger("gateway.admin._app")

STATUS = {
    "gateway.serverconf.not_found": 404,       # NotFound and its kinds (client, service, description, ...)
    "gateway.messagelog.not_found": 404,       # RecordNotFound
    "gateway.serverconf.already_exists": 409,  # AlreadyExists
    "gateway.serverconf.invalid_input": 400,   # InvalidInput
    "gateway.serverconf.fetch_failed": 502,    # a description URL did not answer with the document
    "trust.identifier.invalid": 400,           # IdentifierError
    "gateway.archive.not_timestamped": 409,    # NotTimestamped: the record is not evidence yet
    "gateway.opmonitoring.error": 400,         # OpMonitoringError and its kinds
    "trust.key.not_found": 404,                # KeyNotFound: no such key in any token
    "trust.key.no_such_token": 404,
    "trust.key.no_such_certificate": 404,
    "trust.key.exists": 409,
    "trust.key.certificate_exists": 409,
    "trust.key.token_exists": 409,            # a PKCS#11 token of that name is configured already
    "trust.key.wrong_pin": 422,                # the token refused the PIN (not the API key's fault: no 401/403)
}
DEFAULT_STATUS = 400


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The shared error body; ``error`` ({code, message}) is the gateway's older form, kept for its clients."""
    return jsonify(error_body(code, message, error={"code": code, "message": message})), status


def install_error_handlers(app: Flask) -> None:
    """Answer every failure of ``app`` in the one shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(SildError)
    def _sild_error(exc: SildError) -> tuple[Response, int]:
        return error_response(status_for(exc, STATUS, DEFAULT_STATUS), exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return error_response(code, f"gateway.admin.http_{code}", exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        correlation = str(uuid.uuid4())
        log.exception("admin API internal error %s", correlation)
        return error_response(500, "gateway.admin.internal_error", f"internal error; logged under {correlation}")
