"""Services of a provider: their descriptions (WSDL, REST, OpenAPI), settings and REST endpoints.

New descriptions are fetched with :attr:`AdminConfig.fetch` unless the body carries
the document itself; new services start disabled, as in X-Road.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from trust.protocol import ClientId

from ._auth import READERS, Routes
from ._clients import client_info
from ._config import AdminConfig
from ._http import ApiError, Body, body, path_client, service_json


def _add_description(config: AdminConfig, provider: ClientId, data: Body) -> Any:
    """Register the description a POST body names; returns the store's description info."""
    conf = config.conf
    kind = data.text("type").upper()
    url = data.text("url")
    enabled = data.flag("enabled", False)
    timeout = data.integer("timeout_seconds", 60)
    tls_verify = data.flag("tls_verify", True)
    document = data.text("document", False)
    doc_bytes = document.encode("utf-8") if document is not None else None
    if kind == "WSDL":
        return conf.add_wsdl(provider, url, document=doc_bytes, fetch=config.fetch, enabled=enabled,
                             timeout_seconds=timeout, tls_verify=tls_verify)
    if kind == "REST":
        return conf.add_rest(provider, url, data.text("service_code"), enabled=enabled, timeout_seconds=timeout,
                             tls_verify=tls_verify)
    if kind == "OPENAPI":
        return conf.add_openapi(provider, url, data.text("service_code"), backend_url=data.text("backend_url", False),
                                document=doc_bytes, fetch=config.fetch, enabled=enabled,
                                timeout_seconds=timeout, tls_verify=tls_verify)
    raise ApiError(400, "gateway.admin.bad_field", "field 'type' must be WSDL, REST or OPENAPI")


def services_blueprint(config: AdminConfig) -> Blueprint:
    conf = config.conf
    api = Routes("services", __name__, conf)

    @api.route("GET", "/api/v1/clients/<client_id>/services", *READERS)
    def list_services(client_id: str) -> Any:
        provider = path_client(client_id)
        client_info(conf, provider)
        services = sorted(conf.snapshot().services_of(provider), key=lambda s: (s.id.service_code, s.id.service_version or ""))
        return jsonify(services=[service_json(s) for s in services])

    @api.route("POST", "/api/v1/clients/<client_id>/services", "service-admin")
    def add_service(client_id: str) -> Any:
        provider = path_client(client_id)
        desc = _add_description(config, provider, body())
        return jsonify(id=desc.id, type=desc.kind, url=desc.url, enabled=not desc.disabled,
                       service_codes=list(desc.service_codes)), 201

    @api.route("PATCH", "/api/v1/clients/<client_id>/services/<service_code>", "service-admin")
    def patch_service(client_id: str, service_code: str) -> Any:
        provider = path_client(client_id)
        data = body()
        version = request.args.get("version") or None
        service = provider.service(service_code, version)
        enabled = data.flag("enabled")
        if enabled is not None:
            conf.set_service_enabled(service, enabled, data.text("disabled_notice", False))
        changes = {
            "url": data.text("url", False),
            "timeout_seconds": data.integer("timeout_seconds"),
            "tls_verify": data.flag("tls_verify"),
            "tls_ca_pem": data.text("tls_ca_pem", False),
        }
        if any(v is not None for v in changes.values()):
            conf.update_service(service, **changes)
        found = [s for s in conf.snapshot().services_of(provider) if s.id.service_code == service_code]
        if not found:
            raise ApiError(404, "gateway.serverconf.service_not_found", f"{provider.to_text()} has no service {service_code}")
        return jsonify(services=[service_json(s) for s in found])

    @api.route("DELETE", "/api/v1/service-descriptions/<int:description_id>", "service-admin")
    def delete_description(description_id: int) -> Any:
        conf.remove_description(description_id)
        return "", 204

    @api.route("GET", "/api/v1/clients/<client_id>/services/<service_code>/endpoints", *READERS)
    def list_endpoints(client_id: str, service_code: str) -> Any:
        eps = conf.snapshot().endpoints_of(path_client(client_id), service_code)
        return jsonify(endpoints=[{"id": e.id, "method": e.method, "path": e.path, "generated": e.generated} for e in eps])

    @api.route("POST", "/api/v1/clients/<client_id>/services/<service_code>/endpoints", "service-admin")
    def add_endpoint(client_id: str, service_code: str) -> Any:
        data = body()
        conf.add_endpoint(path_client(client_id), service_code, data.text("method"), data.text("path"))
        return jsonify(method=data.text("method").upper(), path=data.text("path")), 201

    return api.blueprint
