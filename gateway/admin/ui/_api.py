"""The UI's one way to act: the management API, called in-process as the signed-in user.

Every page reads and every form acts through the same ``/api/v1`` views an API key
calls, dispatched inside this process (no socket, no key): the role check, the
validation, the error codes and the audit record are the API's own, so the UI cannot
drift from the API, and an operator sees in the UI exactly the error an automation
would get. The user's identity rides in the WSGI environ under
:data:`gateway.admin._auth.UI_IDENTITY` (a key no HTTP client can set).

X-Road's UI roles are finer than the API's four; each UI role is given the API roles
its duties need (:data:`API_ROLES`), and the UI checks its own, finer table before it
calls (:mod:`._pages`). A security officer therefore acts with the API's ``admin``
role, but only through the pages the UI lets a security officer use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway.errors import GatewayError

from gateway.serverconf import ApiKeyInfo

from .._auth import UI_IDENTITY

API_ROLES: dict[str, frozenset[str]] = {
    "security-officer": frozenset({"admin"}),        # keys, tokens, certificates, anchor
    "registration-officer": frozenset({"admin"}),    # clients and their registration
    "system-administrator": frozenset({"admin"}),    # settings, backups, API keys
    "service-administrator": frozenset({"service-admin", "viewer"}),
    "observer": frozenset({"viewer", "auditor"}),    # reads everything, evidence included
}


def api_roles(ui_roles: Collection[str]) -> frozenset[str]:
    """The API roles a user with ``ui_roles`` calls the API with."""
    return frozenset().union(*(API_ROLES.get(r, frozenset()) for r in ui_roles))


class ApiFailure(GatewayError):
    """An API call the UI made was refused: the API's own code and message, shown in the error box."""

    code = "gateway.admin.ui.api_failure"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class Answer:
    """What the API answered: status, headers and body (JSON decoded when it is JSON).

    A streamed answer (``call(..., stream=True)``, a backup) has ``chunks`` instead of
    ``data``: the body is passed on as it is read, never held whole in memory.
    """

    status: int
    headers: dict[str, str]
    data: bytes
    json: Any = field(default=None)
    chunks: Iterable[bytes] | None = None


def call(user: str, roles: Collection[str], method: str, path: str, *, body: Any = None, raw: bytes | None = None,
         content_type: str | None = None, query: dict[str, str] | None = None, stream: bool = False) -> Answer:
    """Call ``method path`` of this app's API as ``user``; :class:`ApiFailure` for a 4xx or 5xx answer.

    With ``stream`` a successful answer's body is left unread in :attr:`Answer.chunks`.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    identity = ApiKeyInfo(0, api_roles(roles), user, dt.datetime.now(dt.timezone.utc), False)
    builder = EnvironBuilder(
        path=path, method=method, query_string=query,
        data=raw if raw is not None else (json.dumps(body) if body is not None else None),
        content_type=content_type or ("application/json" if body is not None else None),
        environ_base={"REMOTE_ADDR": request.remote_addr or "-", UI_IDENTITY: identity},
    )
    with app.app_context():  # a fresh ``g`` for the inner call, as for any request
        chunks, status, headers = run_wsgi_app(app.wsgi_app, builder.get_environ())
    code = int(status.split()[0])
    if stream and code < 400:
        return Answer(code, dict(headers), b"", None, chunks)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    decoded = json.loads(data) if data and headers.get("Content-Type", "").startswith("application/json") else None
    if code >= 400:
        shape = decoded if isinstance(decoded, dict) else {}
        raise ApiFailure(code, str(shape.get("code") or f"gateway.admin.http_{code}"),
                         str(shape.get("message") or status))
    return Answer(code, dict(headers), data, decoded)
