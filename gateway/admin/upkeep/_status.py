"""Open and read-only views of the gateway as a whole: health, description, status, metrics.

``/healthz`` (for load balancers) and ``/api/v1/openapi.json`` need no key; ``/api/v1/status``,
``/api/v1/diagnostics`` and ``/metrics`` (Prometheus text) need a reading role.
``/api/v1/diagnostics`` is the node's whole report, the one ``sild gateway status``
prints (:mod:`gateway.node._status`): configuration per instance, OCSP per own
certificate, timestamping per TSA, maintenance, message log, and the health verdict
with the X-Road error code traffic gets now. ``POST /api/v1/ocsp/refresh``
(``admin``) fetches the own certificates' OCSP responses now, as
``sild gateway ocsp refresh`` does, and answers their state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

from .._auth import READERS, SUPERUSER, Routes
from .._config import AdminConfig
from .._http import ApiError

SPEC_FILE = Path(__file__).resolve().parents[1] / "admin_api.yaml"  # gateway/admin/admin_api.yaml


def status_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("status", __name__, conf)
    spec_cache: dict[str, Any] = {}

    @api.blueprint.get("/healthz")
    def healthz() -> Any:
        try:
            counter = conf.counter()
        except Exception:  # noqa: BLE001 - health must answer, not raise
            return jsonify(status="unavailable", database=False), 503
        return jsonify(status="ok", database=True, configuration_version=counter)

    @api.blueprint.get("/api/v1/openapi.json")
    def openapi_json() -> Any:
        if "spec" not in spec_cache:
            spec_cache["spec"] = yaml.safe_load(SPEC_FILE.read_text("utf-8"))
        return jsonify(spec_cache["spec"])

    @api.route("GET", "/api/v1/status", *READERS)
    def status() -> Any:
        snap = conf.snapshot()
        out: dict[str, Any] = {
            "security_server": snap.identity.to_text() if snap.identity else None,
            "configuration_version": snap.counter,
            "clients": len(snap.clients),
            "services": len(snap.services),
        }
        if config.messagelog is not None:
            out["message_log"] = config.messagelog.status()
        if config.node_status is not None:
            report = config.node_status()
            for part in ("health", "registration", "configuration", "ocsp"):
                out[part] = report.get(part)
        return jsonify(out)

    @api.route("GET", "/api/v1/diagnostics", *READERS)
    def diagnostics() -> Any:
        if config.node_status is None:
            raise ApiError(404, "gateway.admin.no_node", "this admin API runs without a gateway node")
        return jsonify(config.node_status())

    @api.route("POST", "/api/v1/ocsp/refresh", SUPERUSER)
    def ocsp_refresh() -> Any:
        if config.refresh_ocsp is None:
            raise ApiError(404, "gateway.admin.no_node", "this admin API runs without a gateway node")
        return jsonify(config.refresh_ocsp())

    @api.route("GET", "/metrics", *READERS)
    def metrics() -> Any:
        if config.metrics is None:
            raise ApiError(404, "gateway.admin.no_metrics", "metrics are not enabled on this gateway")
        body, content_type = config.metrics.render(include=config.worker_metrics)
        return Response(body, content_type=content_type)

    return api.blueprint
