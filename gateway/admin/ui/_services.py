"""Services of one client: descriptions from a URL (WSDL, OpenAPI, REST), refresh, enable/disable, access rights.

The service administrator's page. Every change is the API's: descriptions through
``/api/v1/service-descriptions`` (added disabled, as X-Road does, unless asked),
a service switched with ``PATCH /api/v1/clients/{id}/services/{code}`` (a disabled
service answers callers with its notice), rights through ``/api/v1/access-rights``
(per service, or per REST endpoint with method and path; subjects are members,
subsystems, global groups or local groups); REST endpoints are listed and added with
``/api/v1/clients/{id}/services/{code}/endpoints``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, request

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE, PREFIX, SERVICES
from ._web import UiState, action, api, confirm_first, current, done, page, render

KINDS = (("WSDL", "WSDL (SOAP)"), ("OPENAPI", "OpenAPI 3 (REST)"), ("REST", "REST base URL"))


def _path_id(text: str) -> str:
    return urllib.parse.quote(text.replace("/", ":"), safe=":")


def _back(client: str) -> str:
    return f"{PREFIX}/services?client={urllib.parse.quote(client)}"


def _show(state: UiState, client: str, error: Any = None, status: int = 200,
          form: dict[str, str] | None = None) -> Any:
    data: dict[str, Any] = {"clients": [], "descriptions": [], "services": [], "rights": []}
    try:
        data["clients"] = [c["id"] for c in api("GET", "/api/v1/clients").json["clients"]
                           if c["object_type"] == "SUBSYSTEM"]
        client = client or (data["clients"][0] if data["clients"] else "")
        if client:
            pid = _path_id(client)
            data["descriptions"] = api("GET", "/api/v1/service-descriptions",
                                       query={"client": pid}).json["service_descriptions"]
            data["services"] = api("GET", f"/api/v1/clients/{pid}/services").json["services"]
            for service in data["services"]:  # REST endpoints: the finer subjects of access rights
                if service["type"] != "WSDL":
                    service["endpoints"] = api("GET", f"/api/v1/clients/{pid}/services/"
                                                      f"{urllib.parse.quote(service['service_code'])}/endpoints"
                                               ).json["endpoints"]
            data["rights"] = api("GET", "/api/v1/access-rights", query={"client": client}).json["access_rights"]
    except ApiFailure as exc:
        error = error or exc
    return render(state, "gwui/services.html", "Services", status=status, error=error, client=client,
                  form=form or {}, kinds=KINDS, may_change="service-administrator" in current().user.roles, **data)


def _attempt(state: UiState, client: str, method: str, path: str, notice: str, **kwargs: Any) -> Any:
    try:
        api(method, path, **kwargs)
    except ApiFailure as exc:
        return _show(state, client, exc, exc.status, dict(request.form))
    return done(_back(client), notice)


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/services", ANYONE)
    def services() -> Any:
        return _show(state, request.args.get("client", ""))

    @action(bp, state, "/services/descriptions/add", SERVICES)
    def add_description() -> Any:
        form, client = request.form, request.form.get("client", "")
        body: dict[str, Any] = {"client_id": client, "type": form.get("type", "WSDL"),
                                "url": form.get("url", "").strip(), "enabled": form.get("enabled") == "yes"}
        if form.get("service_code", "").strip():
            body["service_code"] = form["service_code"].strip()
        return _attempt(state, client, "POST", "/api/v1/service-descriptions",
                        f"Service description {body['url']} added.", body=body)

    @action(bp, state, "/services/descriptions/<int:description_id>/refresh", SERVICES)
    def refresh(description_id: int) -> Any:
        client = request.form.get("client", "")
        return _attempt(state, client, "POST", f"/api/v1/service-descriptions/{description_id}/refresh",
                        "Service description refreshed from its URL.")

    @action(bp, state, "/services/descriptions/<int:description_id>/delete", SERVICES)
    def delete_description(description_id: int) -> Any:
        client = request.form.get("client", "")
        asked = confirm_first(state, f"Delete service description {request.form.get('url', description_id)}?",
                              "Delete description", _back(client),
                              "Its services and their access rights are deleted with it.")
        return asked or _attempt(state, client, "DELETE", f"/api/v1/service-descriptions/{description_id}",
                                 "Service description deleted.")

    @action(bp, state, "/services/switch", SERVICES)
    def switch() -> Any:
        client, code = request.form.get("client", ""), request.form.get("service_code", "")
        enable = request.form.get("enabled") == "yes"
        body: dict[str, Any] = {"enabled": enable}
        if not enable and request.form.get("notice", "").strip():
            body["disabled_notice"] = request.form["notice"].strip()
        return _attempt(state, client, "PATCH",
                        f"/api/v1/clients/{_path_id(client)}/services/{urllib.parse.quote(code)}",
                        f"Service {code} {'enabled' if enable else 'disabled'}.", body=body)

    @action(bp, state, "/services/endpoints/add", SERVICES)
    def add_endpoint() -> Any:
        client, code = request.form.get("client", ""), request.form.get("service_code", "")
        method, path = request.form.get("ep_method", "").strip(), request.form.get("ep_path", "").strip()
        return _attempt(state, client, "POST",
                        f"/api/v1/clients/{_path_id(client)}/services/{urllib.parse.quote(code)}/endpoints",
                        f"Endpoint {method} {path} added to {code}.", body={"method": method, "path": path})

    _register_rights(bp, state)


def _right_body() -> dict[str, str]:
    form = request.form
    return {"provider": form.get("client", ""), "service_code": form.get("service_code", ""),
            "subject": form.get("subject", "").strip(), "method": form.get("method", "").strip() or "*",
            "path": form.get("path", "").strip() or "**"}


def _register_rights(bp: Blueprint, state: UiState) -> None:
    @action(bp, state, "/services/rights/grant", SERVICES)
    def grant() -> Any:
        body = _right_body()
        return _attempt(state, body["provider"], "POST", "/api/v1/access-rights",
                        f"{body['subject']} may now call {body['service_code']}.", body=body)

    @action(bp, state, "/services/rights/revoke", SERVICES)
    def revoke() -> Any:
        body = _right_body()
        asked = confirm_first(state, f"Revoke the right of {body['subject']} to call {body['service_code']}?",
                              "Revoke", _back(body["provider"]))
        return asked or _attempt(state, body["provider"], "POST", "/api/v1/access-rights/revoke",
                                 f"Right of {body['subject']} to call {body['service_code']} revoked.", body=body)
