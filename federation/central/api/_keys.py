"""API keys of the management API (``system-admin``): list, create (the key is shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, Response

from federation.central.registry import ROLES

from ._http import ADMIN, ApiContext, ApiError, done, field, json_body


def keys_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("keys", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/api-keys")
    @requires(ADMIN)
    def api_keys() -> Response:
        return done([{"name": k.name, "roles": list(k.roles), "createdAt": k.created_at.isoformat(), "revoked": k.revoked}
                     for k in registry.api_keys()])

    @bp.post("/api-keys")
    @requires(ADMIN)
    def create_api_key() -> Response:
        data = json_body()
        roles = field(data, "roles", list)
        if not all(isinstance(r, str) for r in roles):
            raise ApiError(f"roles must be a list of {', '.join(ROLES)}", code="api.invalid_field")
        key = registry.create_api_key(field(data, "name"), roles)
        return done({"name": data["name"], "key": key}, 201)

    @bp.delete("/api-keys/<name>")
    @requires(ADMIN)
    def revoke_api_key(name: str) -> Response:
        registry.revoke_api_key(name)
        return done()

    return bp
