"""The timestamping services over the admin API: the approved ones, the choice and order, stamping now.

``GET /api/v1/timestamping-services``, ``PUT /api/v1/timestamping-services``,
``POST /api/v1/timestamping/run``.

Why: X-Road's security server shows its operator the TSAs the global configuration
approves and lets them choose the ones the server uses and their order; a fleet of
gateways is managed through this API rather than a shell on each. The node does the
work (:mod:`gateway.node._tsas`: the list with the diagnostics' own per-TSA state,
the choice checked against the held configuration and written to the setting
``timestamping_services``, which the running node follows within seconds); this
blueprint only maps it to HTTP. A TSA the configuration does not approve is a 422
``gateway.messagelog.tsa_not_approved`` and the choice in use stays; stamping when
every chosen TSA fails is a 502 ``gateway.messagelog.timestamping_failed`` (recorded
in the log as any failed run, so the diagnostics show it too).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from trust.errors import SildError

from .._auth import READERS, SUPERUSER, Routes
from .._config import AdminConfig
from .._http import ApiError


def tsa_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("tsa", __name__, config.conf)

    def node() -> Any:
        if config.timestamping is None:
            raise ApiError(404, "gateway.admin.no_node", "this admin API runs without a gateway node")
        return config.timestamping

    @api.route("GET", "/api/v1/timestamping-services", *READERS)
    def list_services() -> Any:
        return jsonify(node().tsa_services())

    @api.route("PUT", "/api/v1/timestamping-services", SUPERUSER)
    def choose() -> Any:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            data = data.get("services")
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise ApiError(400, "gateway.admin.bad_body", "send the TSAs to use in order as a JSON list of URLs or "
                           'names, e.g. ["http://tsa.example/"]; [] uses every approved TSA')
        try:
            return jsonify(node().choose_tsas(data))
        except SildError as exc:
            raise ApiError(422, exc.code, exc.message) from exc

    @api.route("POST", "/api/v1/timestamping/run", SUPERUSER)
    def run() -> Any:
        try:
            return jsonify(node().timestamp_run())
        except SildError as exc:
            raise ApiError(502, exc.code, exc.message) from exc

    return api.blueprint
