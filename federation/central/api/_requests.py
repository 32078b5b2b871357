"""Registration requests: submitted by gateways (signed, no API key), decided by a registration officer."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from federation.model import SharedParameters
from federation.central import verify_registration_request
from federation.central.registry import decide, list_requests, store_request

from ._http import REG, ApiContext, ApiError, done


def requests_blueprint(ctx: ApiContext) -> Blueprint:
    bp = Blueprint("requests", __name__, url_prefix="/api/v1")
    registry, requires = ctx.registry, ctx.requires

    @bp.post("/registration-requests")
    def submit_registration() -> Response:
        document = request.get_data()
        snap = registry.snapshot()
        policy = SharedParameters(instance=snap.instance, approved_cas=snap.approved_cas,
                                  ocsp_freshness_seconds=snap.setting_int("ocspFreshnessSeconds")).to_trust_policy()
        verified = verify_registration_request(document, policy, at=ctx.config.clock())
        info = store_request(registry, verified)
        return done(info.to_json(), 202)

    @bp.get("/registration-requests")
    @requires()
    def registration_requests() -> Response:
        return done([r.to_json() for r in list_requests(registry, request.args.get("status"))])

    @bp.post("/registration-requests/<int:request_id>/<action>")
    @requires(REG)
    def decide_registration(request_id: int, action: str) -> Response:
        if action not in ("approve", "decline"):
            raise ApiError("action must be approve or decline", code="api.invalid_field")
        data = request.get_json(silent=True) if request.get_data() else {}
        comment = data.get("comment") if isinstance(data, dict) else None
        info = decide(registry, request_id, approve=action == "approve", by=str(g.api_key_name),
                      comment=comment if isinstance(comment, str) else None)
        if action == "approve":
            ctx.changed()
        return done(info.to_json())

    return bp
