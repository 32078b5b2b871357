"""The admin API's side of the audit log: every state-changing call recorded, ``GET /api/v1/audit`` to read it.

Recording is one ``after_request`` hook on the app, not a line in each view: every
call whose method changes state (anything but GET, HEAD, OPTIONS) is appended to
the gateway's ``audit_log`` (:class:`trust.infra.AuditLog` on the server
configuration's database) once its answer is known, refusals included: the API
key's name (``-`` when the caller had none that worked), the client's address, the
method and path, the JSON body's fields through :func:`trust.infra.redact` (so a
backup passphrase is stored as ``[redacted]``), the HTTP status, and ``ok`` or the
error code of the answer. A call that changes the server configuration is recorded
in the very transaction of its change (``ServerConf.write`` records the action under
way), so no committed change lacks its entry; a call that changes files or nothing
(a backup, a refusal) is appended once answered. A log that cannot be written then is
logged as an error and does not turn an answered call into a failure.

Reading needs the ``auditor`` role (or ``admin``): the log says who did what, which
is evidence, not configuration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request

from trust.infra import (
    READ_METHODS, AuditEntry, AuditLog, api_call_entry, begin_action, end_action, entry_json, parse_since, utc_now,
)

from gateway.db import AuditRecord

from ._auth import UI_IDENTITY, Routes
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


def call_entry(response: Response | None, now: dt.datetime) -> AuditEntry:
    """The audit entry of the current request, answered with ``response`` (None: its change is committing).

    A call the admin UI made for its user is recorded as that user's, on the ``ui`` channel.
    """
    failed = response is not None and response.status_code >= 400 and response.is_json
    entry = api_call_entry(now, actor=_actor(), address=request.remote_addr, method=request.method, path=request.path,
                          body=request.get_json(silent=True) if request.is_json else None, query=request.args.to_dict(),
                          status=None if response is None else response.status_code,
                          answer=response.get_json(silent=True) if failed and response is not None else None)
    identity = request.environ.get(UI_IDENTITY)
    return dataclasses.replace(entry, channel="ui", actor=identity.label) if identity is not None else entry


def install_audit(app: Flask, config: AdminConfig) -> None:
    """Record every state-changing call of ``app`` in the gateway's audit log.

    While a call runs it is the action under way (:func:`trust.infra.begin_action`): a
    write of the server configuration records it in its own transaction. Once
    answered, a call that wrote nothing there, or that failed, is appended here.
    """
    store = audit_log(config)
    clock = config.clock or utc_now

    def _recorded() -> bool:
        """A state-changing API call; the UI's own pages record what they do through the API calls they make."""
        return request.method not in READ_METHODS and not (request.blueprint or "").startswith("ui")

    @app.before_request
    def _begin() -> None:
        if _recorded():
            g.audit_action, g.audit_token = begin_action(lambda: call_entry(None, clock()))

    @app.after_request
    def _record(response: Response) -> Response:
        if not _recorded():
            return response
        action = g.get("audit_action")
        if action is not None and action.written and response.status_code < 400:
            return response
        try:
            store.append(call_entry(response, clock()))
        except Exception:  # noqa: BLE001 - the call is answered; a lost entry is logged loudly
            log.exception("audit log not written for %s %s", request.method, request.path)
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("audit_token", None)
        if token is not None:
            end_action(token)


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
