"""The admin API's side of the audit log: every state-changing call recorded, ``GET /api/v1/audit`` to read it.

Recording is one ``after_request`` hook on the app, not a line in each view: every
call whose method changes state (anything but GET, HEAD, OPTIONS) is appended to
the gateway's ``audit_log`` (:class:`trust.infra.AuditLog` on the server
configuration's database) once its answer is known, refusals included: the API
key's name (``-`` when the caller had none that worked), the client's address, the
method and path, the JSON body's fields through :func:`trust.infra.redact` (so a
backup passphrase is stored as ``[redacted]``), the HTTP status, and ``ok`` or the
error code of the answer. The hook runs after the view returned, that is after its
change committed; a log that cannot be written is logged as an error and does not
turn an answered call into a failure.

Reading needs the ``auditor`` role (or ``admin``): the log says who did what, which
is evidence, not configuration.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request

from trust.infra import READ_METHODS, AuditEntry, AuditLog, api_call_entry, entry_json, parse_since, utc_now

from gateway.db import AuditRecord

from ._auth import Routes
from ._config import AdminConfig
from ._http import ApiError

log = logging.getLogger("gateway.admin.audit")


def audit_log(config: AdminConfig) -> AuditLog:
    return AuditLog(config.conf.engine, AuditRecord.__table__)


def _actor() -> str | None:
    key = g.get("api_key")
    if key is None:
        return None
    return f"{key.label} (key {key.id})" if key.label else f"key {key.id}"


def call_entry(response: Response, now: dt.datetime) -> AuditEntry:
    """The audit entry of the current request, answered with ``response``."""
    return api_call_entry(now, actor=_actor(), address=request.remote_addr, method=request.method, path=request.path,
                          body=request.get_json(silent=True) if request.is_json else None, query=request.args.to_dict(),
                          status=response.status_code,
                          answer=response.get_json(silent=True) if response.status_code >= 400 and response.is_json
                          else None)


def install_audit(app: Flask, config: AdminConfig) -> None:
    """Record every state-changing call of ``app`` in the gateway's audit log."""
    store = audit_log(config)
    clock = config.clock or utc_now

    @app.after_request
    def _record(response: Response) -> Response:
        if request.method not in READ_METHODS:
            try:
                store.append(call_entry(response, clock()))
            except Exception:  # noqa: BLE001 - the call is answered; a lost entry is logged loudly
                log.exception("audit log not written for %s %s", request.method, request.path)
        return response


def _query_int(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "gateway.admin.bad_query", f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _since() -> dt.datetime | None:
    try:
        return parse_since(request.args.get("since"))
    except ValueError as exc:
        raise ApiError(400, "gateway.admin.bad_query", str(exc)) from None


def audit_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("audit", __name__, config.conf)
    store = audit_log(config)

    @api.route("GET", "/api/v1/audit", "auditor")
    def entries() -> Any:
        limit = _query_int("limit", 100, 1, 1000) or 100
        rows = store.entries(since=_since(), before=_query_int("before", None, 1, 2**62), limit=limit)
        return jsonify({"entries": [entry_json(r) for r in rows],
                        "next_before": rows[-1].id if len(rows) == limit else None})

    return api.blueprint
