"""Anchors: this instance's own (exported for gateways and peers) and trusted ones of federated instances."""

from __future__ import annotations

from flask import Blueprint, Response, request

from federation.anchor import anchor_fingerprint
from federation.central.registry import add_trusted_anchor, build_anchor

from ._http import SEC, ApiContext, ApiError, done


def anchors_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("anchors", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/anchors/<kind>")
    @requires()
    def export_anchor(kind: str) -> Response:
        if kind not in ("internal", "external"):
            raise ApiError("anchor kind must be internal or external", code="api.invalid_field")
        data = build_anchor(ctx.home, internal=kind == "internal", now=ctx.config.clock())
        response = Response(data, content_type="application/xml")
        response.headers["X-Anchor-Fingerprint"] = anchor_fingerprint(data)
        return response

    @bp.get("/trusted-anchors")
    @requires()
    def trusted_anchors() -> Response:
        return done([{"instance": i, "fingerprint": anchor_fingerprint(raw), "addedAt": at.isoformat()}
                     for i, raw, _, at in registry.trusted_anchors()])

    @bp.post("/trusted-anchors")
    @requires(SEC)
    def add_anchor() -> Response:
        data = request.get_data()
        if not data:
            raise ApiError("the body must be the anchor XML file", code="api.missing_body")
        fingerprint = add_trusted_anchor(ctx.home, data, now=ctx.config.clock())
        return ctx.committed({"fingerprint": fingerprint}, 201)

    @bp.delete("/trusted-anchors/<instance>")
    @requires(SEC)
    def remove_anchor(instance: str) -> Response:
        registry.remove_trusted_anchor(instance)
        return ctx.committed()

    return bp
