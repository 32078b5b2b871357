"""Evidence for auditors: one exchange from the message log as ASiC-E, and op-monitoring records.

Both need the ``auditor`` role (or ``admin``) and answer 404 when the gateway runs
without the store they read. ``GET /api/v1/messagelog/records`` finds the exchanges
to export by query id, client, service or time (the admin UI's search).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from trust.infra import parse_since

from gateway.messagelog import export_exchange, search_records
from gateway.serverconf import parse_client_text

from ._auth import Routes
from ._config import AdminConfig
from ._http import ApiError

ASIC_MIME = "application/vnd.etsi.asic-e+zip"


def records_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("records", __name__, config.conf)

    @api.route("GET", "/api/v1/messagelog/export", "auditor")
    def export() -> Any:
        if config.messagelog is None:
            raise ApiError(404, "gateway.admin.no_messagelog", "the message log is not enabled on this gateway")
        query_id = request.args.get("query_id", "")
        if not query_id:
            raise ApiError(400, "gateway.admin.missing_field", "query parameter 'query_id' is required")
        direction = request.args.get("direction", "request")
        data = export_exchange(config.messagelog, query_id, direction=direction,
                               require_timestamp=request.args.get("require_timestamp") == "true")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in query_id)[:100]
        return Response(data, content_type=ASIC_MIME,
                        headers={"Content-Disposition": f'attachment; filename="{safe}-{direction}.asice"'})

    @api.route("GET", "/api/v1/messagelog/records", "auditor")
    def find_records() -> Any:
        if config.messagelog is None:
            raise ApiError(404, "gateway.admin.no_messagelog", "the message log is not enabled on this gateway")
        args = request.args
        try:
            since, until = parse_since(args.get("since")), parse_since(args.get("until"))
        except ValueError as exc:
            raise ApiError(400, "gateway.admin.bad_query", str(exc).replace("since", "since/until", 1)) from None
        numbers = {}
        for name, default in (("limit", 50), ("before", None)):
            raw = args.get(name)
            if raw and not raw.isdigit():
                raise ApiError(400, "gateway.admin.bad_query", f"{name} must be a positive integer")
            numbers[name] = int(raw) if raw else default
        found = search_records(config.messagelog, query_id=args.get("query_id") or None,
                               client=args.get("client") or None, service=args.get("service") or None,
                               since=since, until=until, before=numbers["before"], limit=numbers["limit"] or 50)
        limit = min(numbers["limit"] or 50, 500)
        return jsonify(records=[r.to_json() for r in found],
                       next_before=found[-1].id if len(found) == limit else None)

    @api.route("GET", "/api/v1/opmonitoring/records", "auditor")
    def op_records() -> Any:
        if config.opmonitor is None:
            raise ApiError(404, "gateway.admin.no_opmonitoring", "operational monitoring is not enabled on this gateway")
        try:
            records_from = int(request.args["records_from"])
            records_to = int(request.args["records_to"])
        except (KeyError, ValueError):
            raise ApiError(400, "gateway.admin.bad_query",
                           "records_from and records_to (unix seconds) are required integers") from None
        client = parse_client_text(request.args["client"]) if request.args.get("client") else None
        fields = [f for f in request.args.get("fields", "").split(",") if f] or None
        limit = request.args.get("limit", "10000")
        if not limit.isdigit():
            raise ApiError(400, "gateway.admin.bad_query", "limit must be a positive integer")
        result = config.opmonitor.query(records_from, records_to, client=client, fields=fields, limit=int(limit))
        return jsonify(result.to_json())

    return api.blueprint
