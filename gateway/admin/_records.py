"""Evidence for auditors: one exchange from the message log as ASiC-E, the archives, and op-monitoring records.

Reading needs the ``auditor`` role (or ``admin``), archiving now ``admin``; each
answers 404 when the gateway runs without the store it reads. ``GET
/api/v1/messagelog/records`` finds the exchanges to export by query id, client,
service or time (the admin UI's search).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from trust.infra import parse_since

from gateway.messagelog import (
    Archiver, ArchivePolicy, MessageLog, archive_files, check_archives, export_exchange, search_records,
)
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
                               require_timestamp=request.args.get("require_timestamp") == "true", carry=carried())
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in query_id)[:100]
        return Response(data, content_type=ASIC_MIME,
                        headers={"Content-Disposition": f'attachment; filename="{safe}-{direction}.asice"'})

    def carried() -> Any:
        """The signed configuration of a record's time, for its container (None: no gateway directory)."""
        from gateway.conf import ConfHistory

        return ConfHistory(config.directory).carried if config.directory is not None else None

    def archive_target() -> tuple[MessageLog, ArchivePolicy]:
        """The message log and its archive settings (``gateway.json``), as the node's scheduled job reads them."""
        from gateway.settings import SETTINGS_FILE, NodeSettings

        if config.messagelog is None or config.directory is None:
            raise ApiError(404, "gateway.admin.no_messagelog", "the message log is not enabled on this gateway")
        if not (config.directory / SETTINGS_FILE).is_file():
            return config.messagelog, ArchivePolicy(config.directory / "archive")
        return config.messagelog, ArchivePolicy.of(NodeSettings.load(config.directory), config.directory)

    @api.route("POST", "/api/v1/messagelog/archive", "admin")
    def archive_now() -> Any:
        """What `sild gateway log archive DIR` does: archive the timestamped records now, then retention."""
        mlog, policy = archive_target()
        archiver = Archiver(mlog, policy.directory, keep=policy.keep, carry=carried())
        infos = archiver.archive_all()
        return jsonify({"archives": [{"file": i.file.name, "records": i.record_count, "bytes": i.size,
                                      "bytes_before_deflate": i.raw_size, "sha512": i.digest} for i in infos],
                        "deleted": archiver.cleanup()})

    @api.route("GET", "/api/v1/messagelog/archives/verify", "auditor")
    def verify_archives() -> Any:
        """What `sild gateway log verify-archives DIR` checks (without --conf), as JSON."""
        paths = archive_files(archive_target()[1].directory)
        report = check_archives(paths, None, containers=request.args.get("chain_only") != "true",
                                require_timestamp=request.args.get("require_timestamp") == "true")
        return jsonify(report.to_json())

    _search_route(api, config)

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


def _search_route(api: Routes, config: AdminConfig) -> None:
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
