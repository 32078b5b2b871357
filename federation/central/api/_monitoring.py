"""The central monitoring client: who may read every gateway's operational data (``security-officer``).

X-Road publishes it in an optional part of the internal configuration, ``MONITORING``
(``monitoring-params.xml``): its gateways let that client call the op-monitoring
metaservices for all records and the health data, besides their owners. Here it is
the registry setting ``monitoringClientId``; the generator publishes the part while it
is set and drops it when it is cleared.
"""

from __future__ import annotations

from flask import Blueprint, Response

from trust.errors import IdentifierError
from trust.protocol import parse_client

from ._http import SEC, ApiContext, ApiError, done, field, json_body

SETTING = "monitoringClientId"


def monitoring_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("monitoring", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    def current() -> dict[str, str | None]:
        client = registry.monitoring_client()
        return {SETTING: client.to_text() if client is not None else None}

    @bp.get("/monitoring-client")
    @requires()
    def monitoring_client() -> Response:
        return done(current())

    @bp.put("/monitoring-client")
    @requires(SEC)
    def set_monitoring_client() -> Response:
        text = field(json_body(), SETTING)
        try:
            client = parse_client(text.strip())
        except IdentifierError as exc:
            raise ApiError(f"{SETTING}: {exc}", code="api.invalid_field") from exc
        registry.set_monitoring_client(client)
        return ctx.committed(current())

    @bp.delete("/monitoring-client")
    @requires(SEC)
    def clear_monitoring_client() -> Response:
        registry.set_monitoring_client(None)
        return ctx.committed(current())

    return bp
