"""Service descriptions as a resource of their own: list, add, refresh from the URL, change the URL.

X-Road's security server API keeps service descriptions apart from the client that
owns them (``/service-descriptions/{id}``): the operator refreshes or re-points one
description, and the answer says which services came, went or changed (X-Road shows
these as warnings). The store does the work (:mod:`gateway.serverconf`, whose refresh
keeps the rights and state of services that remain); this module only reads the
request and shapes the answer. Downloads go through :attr:`AdminConfig.fetch`
(bounded size and time) unless the body carries the document itself.

Deleting a description is ``DELETE`` on the description (``_services``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from gateway.serverconf import DescriptionInfo, RefreshResult, parse_client_text

from ._auth import READERS, Routes
from ._config import AdminConfig
from ._http import body, path_client, path_form
from ._services import _add_description

BASE = "/api/v1/service-descriptions"


def description_json(desc: DescriptionInfo) -> dict[str, Any]:
    return {
        "id": desc.id, "client_id": path_form(desc.provider), "type": desc.kind, "url": desc.url,
        "enabled": not desc.disabled, "disabled_notice": desc.disabled_notice,
        "service_codes": list(desc.service_codes),
        "refreshed_at": desc.refreshed_at.isoformat() if desc.refreshed_at else None,
    }


def refresh_json(result: RefreshResult) -> dict[str, Any]:
    return {"description": description_json(result.description), "added": list(result.added),
            "removed": list(result.removed), "changed": list(result.changed)}


def descriptions_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("descriptions", __name__, conf)

    @api.route("GET", BASE, *READERS)
    def list_descriptions() -> Any:
        client = request.args.get("client")
        found = conf.list_descriptions(path_client(client) if client else None)
        return jsonify(service_descriptions=[description_json(d) for d in found])

    @api.route("POST", BASE, "service-admin")
    def add_description() -> Any:
        data = body()
        text = data.text("client_id")  # EE:GOV:70000001:tax, or a text form with "/"
        provider = parse_client_text(text) if "/" in text else path_client(text)
        desc = _add_description(config, provider, data)
        return jsonify(description_json(desc)), 201

    @api.route("POST", f"{BASE}/<int:description_id>/refresh", "service-admin")
    def refresh_description(description_id: int) -> Any:
        return jsonify(refresh_json(conf.refresh_description(description_id, fetch=config.fetch)))

    @api.route("PUT", f"{BASE}/<int:description_id>/url", "service-admin")
    def set_url(description_id: int) -> Any:
        url = body().text("url")
        return jsonify(refresh_json(conf.set_description_url(description_id, url, fetch=config.fetch)))

    return api.blueprint
