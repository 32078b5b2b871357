"""Gateways (security servers): registration, their clients, maintenance mode (``registration-officer``)."""

from __future__ import annotations

from flask import Blueprint, Response

from ._http import REG, ApiContext, cert, client_id, done, field, json_body, server_id


def gateways_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("gateways", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.get("/gateways")
    @requires()
    def gateways() -> Response:
        return done(registry.gateways())

    @bp.post("/gateways")
    @requires(REG)
    def add_gateway() -> Response:
        data = json_body()
        gateway = server_id(field(data, "id"))
        certs = [cert({"c": c}, "c") for c in field(data, "authCertificates", list, required=False, default=[])]
        clients = [client_id(str(c)) for c in field(data, "clients", list, required=False, default=[])]
        registry.add_gateway(gateway, address=field(data, "address", required=False),
                             auth_certs=[c for c in certs if c], clients=clients)
        return ctx.committed(status=201)

    @bp.post("/gateways/<path:server>/clients")
    @requires(REG)
    def add_gateway_client(server: str) -> Response:
        data = json_body()
        registry.add_gateway_client(server_id(server), client_id(field(data, "client")))
        return ctx.committed(status=201)

    @bp.put("/gateways/<path:server>/maintenance")
    @requires(REG)
    def maintenance(server: str) -> Response:
        data = json_body()
        registry.set_maintenance(server_id(server), field(data, "enabled", bool), field(data, "message", required=False))
        return ctx.committed()

    @bp.delete("/gateways/<path:server>")
    @requires(REG)
    def remove_gateway(server: str) -> Response:
        registry.remove_gateway(server_id(server))
        return ctx.committed()

    return bp
