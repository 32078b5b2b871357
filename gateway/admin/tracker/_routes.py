"""Routes of the data tracker (see the room's face): JSON for a portal, HTML for a printout."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from gateway.serverconf import parse_client_text
from gateway.tracker import Tracker, html_report, load_rules, make_rule, remove_rule, save_rule

from .._auth import READERS, Routes
from .._config import AdminConfig
from .._http import ApiError, body, path_client

MAX_SUBJECT = 255


def tracker_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("tracker", __name__, conf)
    tracker = Tracker(conf, config.directory) if config.directory is not None else None

    def need_tracker() -> Tracker:
        if tracker is None:  # an app built without a gateway directory has no tracker key
            raise ApiError(404, "gateway.admin.no_tracker", "the data tracker needs the gateway directory")
        return tracker

    @api.route("GET", "/api/v1/tracker/subjects/<subject>", "tracker")
    def subject_entries(subject: str) -> Any:
        if not subject or len(subject) > MAX_SUBJECT:
            raise ApiError(400, "gateway.admin.bad_subject", f"a subject identifier has 1 to {MAX_SUBJECT} characters")
        entries = need_tracker().entries(subject)
        if request.args.get("format") == "html":
            owner = request.args.get("owner", "") or "data owner's systems"
            page = html_report(subject, owner[:200], entries)
            return Response(page, content_type="text/html; charset=utf-8")
        return jsonify(subject=subject, entries=[e.to_json() for e in entries])

    @api.route("GET", "/api/v1/tracker/rules", *READERS)
    def list_rules() -> Any:
        return jsonify(rules=[r.to_json() for r in load_rules(conf)])

    @api.route("PUT", "/api/v1/tracker/rules", "service-admin")
    def declare() -> Any:
        data = body()
        namespaces = data._get("namespaces", (dict,), "a map of prefix to URI", False, {})
        rule = make_rule(parse_client_text(data.text("provider")), data.text("service_code"), data.text("source"),
                         data.text("expression"), namespaces, bool(data.flag("store_plain", False)))
        save_rule(conf, rule)
        if tracker is not None:
            tracker.key()  # made now: a cluster bundle exported next carries it
        return jsonify(rule.to_json())

    @api.route("DELETE", "/api/v1/tracker/rules/<provider>/<service_code>", "service-admin")
    def undeclare(provider: str, service_code: str) -> Any:
        remove_rule(conf, path_client(provider), service_code)
        return "", 204

    return api.blueprint
