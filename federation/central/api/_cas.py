"""Approved certification and time-stamping authorities (``security-officer``)."""

from __future__ import annotations

from flask import Blueprint, Response

from ._http import SEC, ApiContext, ApiError, cert, done, field, json_body


def cas_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("cas", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/cas")
    @requires()
    def cas() -> Response:
        return done(registry.cas())

    @bp.post("/cas")
    @requires(SEC)
    def add_ca() -> Response:
        data = json_body()
        ocsp = []
        for entry in field(data, "ocsp", list, required=False, default=[]):
            if not isinstance(entry, dict):
                raise ApiError("each ocsp entry must be an object {url, certificate?}", code="api.invalid_field")
            ocsp.append((field(entry, "url"), cert(entry, "certificate", required=False)))
        registry.add_ca(
            field(data, "name"),
            cert(data, "certificate") or b"",
            ocsp=ocsp,
            certificate_profile=field(data, "certificateProfile"),
            authentication_only=field(data, "authenticationOnly", bool, required=False, default=False),
            intermediates=[c for c in (cert({"c": i}, "c") for i in field(data, "intermediates", list, required=False, default=[])) if c],
        )
        return ctx.committed(status=201)

    @bp.delete("/cas/<name>")
    @requires(SEC)
    def remove_ca(name: str) -> Response:
        registry.remove_ca(name)
        return ctx.committed()

    @bp.get("/tsas")
    @requires()
    def tsas() -> Response:
        return done(registry.tsas())

    @bp.post("/tsas")
    @requires(SEC)
    def add_tsa() -> Response:
        data = json_body()
        registry.add_tsa(field(data, "name"), field(data, "url"), cert(data, "certificate") or b"")
        return ctx.committed(status=201)

    return bp
