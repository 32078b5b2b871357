"""How the authority's app answers a failure: one JSON error shape, one status table.

Every refusal is a 4xx in the shape both admin APIs share
(:func:`trust.infra.error_body`, the ``Error`` schema of ``central_api.json``):
``{"code": "<stable code>", "message": "<what is wrong>", "error": "<stable code>"}``,
where the top-level ``error`` string is what this API answered before the shapes
were joined (deprecated, kept so no client breaks). Nothing internal (paths, stack
traces) is put in a response. A :class:`~trust.errors.SildError` that declares its
own ``http_status`` (the registry's refusals, the API's own) answers with it; any
other gets its status from :data:`STATUS`, keyed by error code or code family (see
:func:`trust.infra.status_for`), else 500 with a message that hides the cause.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from trust.errors import SildError
from trust.infra import error_body, status_for

LOG = logging.getLogger("sild.central")

STATUS = {
    "federation.conf": 400,  # configuration that does not parse or verify
    "trust": 400,            # identifiers, certificates, signatures, XML of the request
    "federation.discovery": 500,  # a ConfError by class, but a failure of this node, not of the request
}
DEFAULT_STATUS = 500
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify(error_body(code, message, error=code))
    response.status_code = status
    return response


def status_of(exc: SildError) -> int:
    declared = getattr(exc, "http_status", None)
    if isinstance(declared, int):
        return declared
    return status_for(exc, STATUS, DEFAULT_STATUS)


def install_error_handlers(app: Flask) -> None:
    """Answer every failure of ``app`` in the one shape."""

    @app.errorhandler(SildError)
    def sild_error(exc: SildError) -> Response:
        status = status_of(exc)
        if status >= 500:
            LOG.error("request failed: %s [%s]", exc, exc.code)
            if status == 500:
                return error_response(500, exc.code, "internal error; see the authority's log")
        return error_response(status, exc.code, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        return error_response(status, _HTTP_CODES.get(status, "http_error"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        LOG.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the authority's log")
