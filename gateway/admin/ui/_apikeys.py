"""API keys for automation: list, create (the secret shown once, on the answer page only), revoke.

The system administrator's page, on ``/api/v1/api-keys``. A new key's secret is
rendered in the answer to the POST itself, never put in a redirect, a cookie or the
audit log, and cannot be shown again; revoking asks first.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import PREFIX, SYSTEM
from ._web import UiState, action, api, confirm_first, done, page, render

API_ROLES = (("admin", "admin: everything"), ("service-admin", "service-admin: clients, services, rights"),
             ("auditor", "auditor: message log, monitoring, audit log"), ("viewer", "viewer: read only"))


def _keys_page(state: UiState, error: Any = None, status: int = 200, created: dict[str, Any] | None = None) -> Any:
    keys: list[dict[str, Any]] = []
    try:
        keys = api("GET", "/api/v1/api-keys").json["api_keys"]
    except ApiFailure as exc:
        error = error or exc
    return render(state, "gwui/apikeys.html", "API keys", status=status, error=error, keys=keys, created=created,
                  roles=API_ROLES,
                  form={"roles": request.form.getlist("roles"), "label": request.form.get("label", "")})


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/apikeys", SYSTEM)
    def apikeys() -> Any:
        return _keys_page(state)

    @action(bp, state, "/apikeys/create", SYSTEM)
    def create() -> Any:
        body = {"roles": request.form.getlist("roles"), "label": request.form.get("label", "").strip()}
        try:
            created = api("POST", "/api/v1/api-keys", body=body).json
        except ApiFailure as exc:
            return _keys_page(state, exc, exc.status)
        return _keys_page(state, created=created)

    @action(bp, state, "/apikeys/<int:key_id>/revoke", SYSTEM)
    def revoke(key_id: int) -> Any:
        asked = confirm_first(state, f"Revoke API key {key_id}?", "Revoke key", f"{PREFIX}/apikeys",
                              "Whatever uses it is refused from its next call.")
        if asked:
            return asked
        try:
            api("DELETE", f"/api/v1/api-keys/{key_id}")
        except ApiFailure as exc:
            return _keys_page(state, exc, exc.status)
        return done(f"{PREFIX}/apikeys", f"API key {key_id} revoked.")
