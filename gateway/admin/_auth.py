"""API keys at the admin API's door: who is calling, and may they make this call.

The key format, digest, header order and role rule are :mod:`trust.infra`'s, shared
with the governing authority's management API; the keys themselves live in the
gateway's configuration (:mod:`gateway.serverconf`). This adapter only reads the
Flask request and turns a refusal into an :class:`~gateway.admin._http.ApiError`;
:class:`Routes` puts the check in front of every route a resource's blueprint
registers, each naming its roles on the line that names its method and path.

Roles: ``admin`` may do everything; ``service-admin`` changes the configuration;
``auditor`` reads evidence; ``viewer`` (and the two above) read configuration;
``tracker`` reads only the data tracker's list of one data subject (a citizen portal's key).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from flask import Blueprint, g, request

from trust.infra import presented_api_key, role_allows

from gateway.serverconf import ApiKeyInfo, ServerConf, authenticate

from ._http import ApiError

READERS = ("service-admin", "auditor", "viewer")
SUPERUSER = "admin"
# the admin web UI (gateway.admin.ui) calls this API in-process as its signed-in user: the
# identity rides in the WSGI environ under this key, which no HTTP client can set (headers
# arrive as HTTP_*), so the role check and the errors are the API's own
UI_IDENTITY = "sild.admin.ui_identity"

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def authenticate_request(conf: ServerConf) -> ApiKeyInfo:
    """The caller's key (``Authorization: Bearer <key>`` or ``X-API-Key``), or a 401.

    A call the admin UI makes for its user carries that user's identity instead.
    """
    identity = request.environ.get(UI_IDENTITY)
    if isinstance(identity, ApiKeyInfo):
        return identity
    secret = presented_api_key(request.headers.get("Authorization", ""), request.headers.get("X-API-Key"),
                               bearer_first=True)
    if not secret:
        raise ApiError(401, "gateway.admin.unauthenticated", "an API key is required (Authorization: Bearer <key>)")
    key = authenticate(conf, secret)
    if key is None:
        raise ApiError(401, "gateway.admin.unauthenticated", "the API key is unknown or revoked")
    return key


class Routes:
    """One resource's blueprint whose every route names the roles that may call it.

    ``api = Routes("clients", __name__, conf)``; then ``@api.route("GET", "/api/v1/clients", *READERS)``
    serves a view behind the API-key check (``admin`` always passes). The few open
    routes (``/healthz``) go on :attr:`blueprint` directly, so none is open by omission.
    """

    def __init__(self, name: str, import_name: str, conf: ServerConf) -> None:
        self.blueprint = Blueprint(name, import_name)
        self._conf = conf

    def route(self, method: str, rule: str, *allowed: str) -> Decorator:
        if not allowed:
            raise ValueError(f"{method} {rule}: a guarded route names at least one role")

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            self.blueprint.add_url_rule(rule, view_func=self._guarded(view, allowed), methods=[method])
            return view

        return register

    def _guarded(self, view: Callable[..., Any], allowed: tuple[str, ...]) -> Callable[..., Any]:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            key = authenticate_request(self._conf)
            g.api_key = key  # known before the role check: the audit log names who was refused
            if not role_allows(key.roles, allowed, superuser=SUPERUSER):
                raise ApiError(403, "gateway.admin.forbidden",
                               "this API key lacks a role for this call (needs one of: "
                               f"{', '.join(dict.fromkeys((SUPERUSER, *allowed)))})")
            return view(*args, **kwargs)

        return inner
