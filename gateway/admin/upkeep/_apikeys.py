"""The admin API's own keys over the API: list, create (the secret shown once), revoke.

What ``sild gateway apikey list|create|revoke`` does, for the admin web UI and for
automation that rotates its keys. Only ``admin`` may: a key that makes keys can grant
any role. The secret is in the answer of the ``POST`` alone (the audit log records the
request's roles and label, never the answer) and is stored only as its SHA-256.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from gateway.serverconf import ApiKeyInfo, create_api_key, list_api_keys, revoke_api_key

from .._auth import SUPERUSER, Routes
from .._config import AdminConfig
from .._http import body


def key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {"id": key.id, "roles": sorted(key.roles), "label": key.label, "created_at": key.created_at.isoformat(),
            "revoked": key.revoked}


def apikeys_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("apikeys", __name__, conf)

    @api.route("GET", "/api/v1/api-keys", SUPERUSER)
    def list_keys() -> Any:
        return jsonify(api_keys=[key_json(k) for k in list_api_keys(conf)])

    @api.route("POST", "/api/v1/api-keys", SUPERUSER)
    def create_key() -> Any:
        data = body()
        key_id, secret = create_api_key(conf, data.texts("roles"), data.text("label", False, ""))
        created = next(k for k in list_api_keys(conf) if k.id == key_id)
        return jsonify(**key_json(created), key=secret), 201

    @api.route("DELETE", "/api/v1/api-keys/<int:key_id>", SUPERUSER)
    def revoke_key(key_id: int) -> Any:
        revoke_api_key(conf, key_id)
        return "", 204

    return api.blueprint
