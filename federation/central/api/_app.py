"""The governing authority's HTTP app: configuration distribution + management API.

``create_app(config)`` builds a Flask app over one authority directory:

* **Distribution** (no authentication, static signed files):
  :mod:`federation.central.api._distribution`.
* **Management API** under ``/api/v1`` (JSON, described by ``/api/v1/openapi.json``):
  API keys (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``) with roles;
  registration requests are the exception: they are authenticated by their own
  signatures (:mod:`federation.central._registration`). One blueprint per resource
  (``_members``, ``_gateways``, ``_cas``, ``_settings``, ``_anchors``, ``_signing``,
  ``_requests``, ``_keys``) over the shared parsing and key check of ``_http``.
* **Errors**: every refusal is a 4xx in the one error shape of ``_errors``; nothing
  internal (paths, stack traces) is put in a response.

With ``management=False`` the app serves only what gateways call without a key
(distribution, their signed registration requests, the OpenAPI document): the node
then serves the management API on a port of its own, over HTTPS
(:mod:`federation.central._node`), and API keys never reach the plain-HTTP port.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request

from trust.infra import (
    READ_METHODS, AuditEntry, AuditLog, api_call_entry, begin_action, end_action, entry_json, parse_since, utc_now,
)
from federation.central.registry import AuditRow, CentralDir

from ._anchors import anchors_blueprint
from ._backup import backup_blueprint
from ._cas import cas_blueprint
from ._edits import edits_blueprint
from ._distribution import GENERATED_VERSIONS, OPENAPI_FILE, distribution_blueprint
from ._errors import LOG, error_response, install_error_handlers
from ._gateways import gateways_blueprint
from ._http import ApiContext, ApiError, SEC, done
from ._keys import keys_blueprint
from ._members import members_blueprint
from ._monitoring import monitoring_blueprint
from ._requests import requests_blueprint
from ._settings import settings_blueprint
from ._signing import signing_blueprint

RESOURCES: tuple[Callable[[ApiContext], Blueprint], ...] = (
    settings_blueprint, members_blueprint, gateways_blueprint, cas_blueprint, anchors_blueprint, signing_blueprint,
    requests_blueprint, keys_blueprint, backup_blueprint,
    edits_blueprint,
    monitoring_blueprint,
)


SELF_AUDITED = "sild.self_audited"  # app.extensions key: names of blueprints that record their own requests


@dataclass(frozen=True)
class CentralAppConfig:
    """What the app needs: the authority directory, a clock, and a hook called after each change."""

    directory: Path
    clock: Callable[[], dt.datetime] = utc_now
    on_change: Callable[[], None] | None = field(default=None, compare=False)
    max_body_bytes: int = 1024 * 1024
    management: bool = True  # False: only what gateways call without a key (the management API is elsewhere)

    def __post_init__(self) -> None:
        if not Path(self.directory).is_dir():
            raise ValueError(f"{self.directory} is not a directory")


def create_app(config: CentralAppConfig) -> Flask:
    app = Flask("sild.central")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    home = CentralDir(config.directory, clock=config.clock)
    app.extensions["sild.central"] = {"home": home, "config": config}
    app.register_blueprint(distribution_blueprint(home.public_dir))
    context = ApiContext(home, home.registry(), config)
    app.extensions["sild.central"]["context"] = context  # the admin UI acts through the same context
    for resource in RESOURCES:
        app.register_blueprint(resource(context))
    install_error_handlers(app)
    if not config.management:
        app.before_request(_keyless_only)
    else:  # the audit log records the management API's calls (the keyless port is open to every gateway)
        app.register_blueprint(_audit_blueprint(context))
    return app


def _audit_blueprint(ctx: ApiContext) -> Blueprint:
    """``GET /api/v1/audit`` (security officers) and the hook that records every state-changing call.

    Hooks around every request, not a line per view: a call whose method changes
    state is the action under way while it runs, and a registry change records it
    in the change's own transaction; a call that changed nothing there, or failed,
    is appended once answered. An entry holds the API key's name (``-`` without a
    valid one), the client's address, method and path, the JSON body's fields
    through :func:`trust.infra.redact`, the HTTP status (of an answered call), and
    ``ok`` or the answer's error code. A log that cannot be written after the answer
    is logged, and the call keeps its answer.
    """
    bp = Blueprint("audit", __name__, url_prefix="/api/v1")
    store = AuditLog(ctx.registry.engine, AuditRow.__table__)

    def entry(response: Response | None) -> AuditEntry:
        failed = response is not None and response.status_code >= 400 and response.is_json
        return api_call_entry(
            ctx.config.clock(), actor=g.get("api_key_name"), address=request.remote_addr, method=request.method,
            path=request.path, query=request.args.to_dict(), body=request.get_json(silent=True) if request.is_json else None,
            status=None if response is None else response.status_code,
            answer=response.get_json(silent=True) if failed and response is not None else None)

    def self_audited() -> bool:  # the admin UI's requests are recorded by the UI, as its user (channel ui)
        return request.blueprint in current_app.extensions.get(SELF_AUDITED, ())

    @bp.before_app_request
    def _begin() -> None:  # a registry change records the call in its own transaction (Registry._change)
        if request.method not in READ_METHODS and not self_audited():
            g.audit_action, g.audit_token = begin_action(lambda: entry(None))

    @bp.after_app_request
    def _record(response: Response) -> Response:
        action = g.get("audit_action")
        if request.method in READ_METHODS or self_audited() or (action is not None and action.written and response.status_code < 400):
            return response
        try:
            store.append(entry(response))
        except Exception:  # noqa: BLE001 - the call is answered; a lost entry is logged loudly
            LOG.exception("audit log not written for %s %s", request.method, request.path)
        return response

    @bp.teardown_app_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("audit_token", None)
        if token is not None:
            end_action(token)

    @bp.get("/audit")
    @ctx.requires(SEC)
    def audit() -> Response:
        try:
            since = parse_since(request.args.get("since"))
            limit = int(request.args.get("limit", "100"))
            before = int(request.args["before"]) if request.args.get("before") else None
        except ValueError as exc:
            raise ApiError(f"bad query: {exc}", code="api.invalid_query") from None
        if not 1 <= limit <= 1000 or (before is not None and before < 1):
            raise ApiError("limit must be 1 to 1000 and before a positive entry id", code="api.invalid_query")
        rows = store.entries(since=since, before=before, limit=limit)
        return done({"entries": [entry_json(r) for r in rows], "next_before": rows[-1].id if len(rows) == limit else None})

    return bp


KEYLESS_API = frozenset({("POST", "/api/v1/registration-requests"), ("GET", "/api/v1/openapi.json")})


def _keyless_only() -> Response | None:
    """On a distribution-only port, every management path answers 404 before any key is read."""
    if request.path.startswith("/api/") and (request.method, request.path) not in KEYLESS_API:
        return error_response(404, "api.management_elsewhere",
                              "the management API is served on the authority's management port (HTTPS)")
    return None


__all__ = ["GENERATED_VERSIONS", "LOG", "OPENAPI_FILE", "SELF_AUDITED", "CentralAppConfig", "create_app",
           "error_response"]
