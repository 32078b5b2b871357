"""Clients of the gateway (members and subsystems it serves) and their IS certificates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from trust.protocol import ClientId

from gateway.serverconf import ClientInfo, ServerConf, parse_client_text

from ._auth import READERS, Routes
from ._config import AdminConfig
from ._http import ApiError, body, client_json, path_client


def client_info(conf: ServerConf, client: ClientId) -> ClientInfo:
    """The configured client, or a 404."""
    info = conf.snapshot().client(client)
    if info is None:
        raise ApiError(404, "gateway.serverconf.client_not_found", f"client {client.to_text()} is not configured")
    return info


def clients_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("clients", __name__, conf)

    @api.route("GET", "/api/v1/clients", *READERS)
    def list_clients() -> Any:
        return jsonify(clients=[client_json(c) for c in conf.list_clients()])

    @api.route("POST", "/api/v1/clients", "service-admin")
    def add_client() -> Any:
        data = body()
        client = parse_client_text(data.text("id"))
        info = conf.add_client(
            client,
            is_auth=data.text("is_auth", False, "http"),
            allowed_addresses=data.texts("allowed_addresses", False),
            state=data.text("state", False, "SAVED"),
        )
        return jsonify(client_json(info)), 201

    @api.route("GET", "/api/v1/clients/<client_id>", *READERS)
    def get_client(client_id: str) -> Any:
        return jsonify(client_json(client_info(conf, path_client(client_id))))

    @api.route("PATCH", "/api/v1/clients/<client_id>", "service-admin")
    def patch_client(client_id: str) -> Any:
        client = path_client(client_id)
        data = body()
        state = data.text("state", False)
        is_auth = data.text("is_auth", False)
        addresses = data.texts("allowed_addresses", False) if "allowed_addresses" in data.data else None
        client_info(conf, client)
        if is_auth is not None or addresses is not None:
            conf.set_client_auth(client, is_auth or client_info(conf, client).is_auth, addresses)
        if state is not None:
            conf.set_client_state(client, state)
        if "message_body_logging" in data.data:  # true, false, or null for the gateway's setting
            conf.set_body_logging(client, data.flag("message_body_logging"))
        return jsonify(client_json(client_info(conf, client)))

    @api.route("DELETE", "/api/v1/clients/<client_id>", "service-admin")
    def delete_client(client_id: str) -> Any:
        conf.remove_client(path_client(client_id))
        return "", 204

    @api.route("POST", "/api/v1/clients/<client_id>/certificates", "service-admin")
    def add_cert(client_id: str) -> Any:
        digest = conf.add_client_cert(path_client(client_id), body().text("pem").encode("utf-8"))
        return jsonify(sha256=digest), 201

    @api.route("DELETE", "/api/v1/clients/<client_id>/certificates/<sha256>", "service-admin")
    def delete_cert(client_id: str, sha256: str) -> Any:
        conf.remove_client_cert(path_client(client_id), sha256)
        return "", 204

    return api.blueprint
