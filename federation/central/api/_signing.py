"""Configuration signing keys: list, create on the authority's token, activate, remove (``security-officer``)."""

from __future__ import annotations

from flask import Blueprint, Response

from federation.central.registry import create_signing_key

from ._http import SEC, ApiContext, ApiError, done, field, json_body


def signing_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("signing", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/signing-keys")
    @requires()
    def signing_keys() -> Response:
        return done([{"id": k, "kind": kind, "status": st} for k, kind, st, _ in registry.signing_keys()])

    @bp.post("/signing-keys")
    @requires(SEC)
    def new_signing_key() -> Response:
        data = json_body()
        kind = field(data, "kind")
        if kind not in ("internal", "external"):
            raise ApiError("kind must be internal or external", code="api.invalid_field")
        key_id = create_signing_key(registry, ctx.home.token(), kind, now=ctx.config.clock(),
                                    activate=field(data, "activate", bool, required=False, default=False))
        return ctx.committed({"id": key_id}, 201)

    @bp.post("/signing-keys/<key_id>/activate")
    @requires(SEC)
    def activate_key(key_id: str) -> Response:
        registry.activate_signing_key(key_id)
        return ctx.committed()

    @bp.delete("/signing-keys/<key_id>")
    @requires(SEC)
    def remove_key(key_id: str) -> Response:
        registry.remove_signing_key(key_id)  # the active key: federation.registry.in_use (409)
        return ctx.committed()

    return bp
