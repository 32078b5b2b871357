"""Local groups of a client: named sets of clients that access rights may name as subject."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from gateway.serverconf import parse_client_text

from ._auth import READERS, Routes
from ._config import AdminConfig
from ._http import body, path_client


def groups_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("groups", __name__, conf)

    @api.route("GET", "/api/v1/clients/<client_id>/local-groups", *READERS)
    def list_groups(client_id: str) -> Any:
        groups = conf.list_local_groups(path_client(client_id))
        return jsonify(local_groups=[{"code": g.code, "description": g.description,
                                      "members": sorted(m.to_text() for m in g.members)} for g in groups])

    @api.route("POST", "/api/v1/clients/<client_id>/local-groups", "service-admin")
    def add_group(client_id: str) -> Any:
        data = body()
        conf.add_local_group(path_client(client_id), data.text("code"), data.text("description", False, ""))
        return jsonify(code=data.text("code")), 201

    @api.route("DELETE", "/api/v1/clients/<client_id>/local-groups/<code>", "service-admin")
    def delete_group(client_id: str, code: str) -> Any:
        conf.remove_local_group(path_client(client_id), code)
        return "", 204

    @api.route("POST", "/api/v1/clients/<client_id>/local-groups/<code>/members", "service-admin")
    def add_members(client_id: str, code: str) -> Any:
        members = [parse_client_text(t) for t in body().texts("members")]
        conf.add_group_members(path_client(client_id), code, members)
        return "", 204

    @api.route("POST", "/api/v1/clients/<client_id>/local-groups/<code>/members/remove", "service-admin")
    def remove_members(client_id: str, code: str) -> Any:
        members = [parse_client_text(t) for t in body().texts("members")]
        conf.remove_group_members(path_client(client_id), code, members)
        return "", 204

    return api.blueprint
