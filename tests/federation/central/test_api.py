"""The authority's HTTP app: distribution, API keys and roles, specific 4xx, OpenAPI."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir
from federation.central.registry import init_central

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "test-pin"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    directory = tmp_path_factory.mktemp("central") / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=NOW)
    application = create_app(CentralAppConfig(directory=directory, clock=lambda: NOW))
    registry = CentralDir(directory).registry()
    application.config["keys"] = {
        role: registry.create_api_key(role, [role])
        for role in ("registration-officer", "security-officer", "system-admin")
    }
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _key(app: Flask, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.config['keys'][role]}"}


def test_distribution_serves_version_6_only(client: FlaskClient) -> None:
    missing = client.get("/internalconf")  # no version parameter means version 2, as in X-Road
    assert missing.status_code == 404
    assert missing.json["error"] == "version_not_generated" and "version 2" in missing.json["message"]
    assert client.get("/externalconf?version=5").status_code == 404
    assert client.get("/externalconf?version=six").json["error"] == "invalid_version"
    for kind in ("internalconf", "externalconf"):
        response = client.get(f"/{kind}?version=6")
        assert response.status_code == 200
        assert response.data.startswith(b"Content-Type: multipart/related")
        for location in re.findall(rb"Content-location: (\S+)", response.data):
            part = client.get(location.decode())
            assert part.status_code == 200 and part.data.startswith(b"<?xml")
    for bad in ("/V6/../central.json", "/V6/20260601/..%2F..%2Fcentral.json", "/V6/abc/shared-params.xml", "/V5/20260601120000000000000/shared-params.xml"):
        assert client.get(bad).status_code == 404, bad


def test_api_keys_and_roles(app: Flask, client: FlaskClient) -> None:
    assert client.get("/api/v1/members").json["error"] == "api.unauthorised"
    assert client.get("/api/v1/members", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/api/v1/members", headers={"X-API-Key": app.config["keys"]["security-officer"]}).status_code == 200
    forbidden = client.post("/api/v1/cas", json={"name": "x"}, headers=_key(app, "registration-officer"))
    assert (forbidden.status_code, forbidden.json["error"]) == (403, "api.forbidden")
    assert client.get("/api/v1/api-keys", headers=_key(app, "security-officer")).status_code == 403
    listed = client.get("/api/v1/api-keys", headers=_key(app, "system-admin")).json
    assert {k["name"] for k in listed} == {"registration-officer", "security-officer", "system-admin"}
    assert all("key" not in k for k in listed)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("post", "/api/v1/members", "not json", 400, "api.invalid_json"),
        ("post", "/api/v1/members", [1, 2], 400, "api.invalid_json"),
        ("post", "/api/v1/members", {"id": "EE/GOV/1"}, 400, "api.missing_field"),
        ("post", "/api/v1/members", {"id": "EE/GOV/1", "name": 5}, 400, "api.invalid_field"),
        ("post", "/api/v1/members", {"id": "EE//1", "name": "x"}, 400, "api.invalid_identifier"),
        ("post", "/api/v1/members", {"id": "EE/GOV/1/sub", "name": "x"}, 400, "api.invalid_identifier"),
        ("post", "/api/v1/members", {"id": "EE/NOPE/1", "name": "x"}, 400, "federation.registry.unknown_member_class"),
        ("post", "/api/v1/members", {"id": "FI/GOV/1", "name": "x"}, 400, "federation.registry.wrong_instance"),
        ("post", "/api/v1/members", {"id": "EE/GOV/dup", "name": "x"}, 409, "federation.registry.duplicate_member"),
        ("post", "/api/v1/subsystems", {"id": "EE/GOV/404/sub"}, 404, "federation.registry.unknown_member"),
        ("post", "/api/v1/gateways", {"id": "EE/GOV/dup/ss", "authCertificates": ["bm90IGEgY2VydA=="]}, 400,
         "federation.registry.invalid_certificate"),
        ("post", "/api/v1/gateways", {"id": "EE/GOV/dup/ss", "clients": ["EE/GOV/dup/none"]}, 404, "federation.registry.unknown_subsystem"),
        ("post", "/api/v1/cas", {"name": "CA", "certificate": "%%%", "certificateProfile": "p"}, 400, "api.invalid_field"),
        ("patch", "/api/v1/settings", {"ocspFreshnessSeconds": 0}, 400, "federation.registry.invalid_setting"),
        ("patch", "/api/v1/settings", {"whatever": 1}, 400, "federation.registry.invalid_setting"),
        ("patch", "/api/v1/settings", {"ocspFreshnessSeconds": 100, "confExpireIntervalSeconds": 1}, 400,
         "federation.registry.invalid_setting"),
        ("post", "/api/v1/signing-keys", {"kind": "middle"}, 400, "api.invalid_field"),
        ("post", "/api/v1/api-keys", {"name": "n", "roles": ["root"]}, 400, "federation.registry.invalid_input"),
        ("post", "/api/v1/trusted-anchors", None, 400, "api.missing_body"),
        ("post", "/api/v1/registration-requests/99/approve", None, 404, "federation.registry.unknown_request"),
        ("get", "/api/v1/registration-requests?status=odd", None, 400, "federation.registry.invalid_input"),
        ("delete", "/api/v1/members/EE/GOV/none", None, 404, "federation.registry.unknown_member"),
        ("get", "/api/v1/nothing-here", None, 404, "not_found"),
        ("put", "/api/v1/members", {}, 405, "method_not_allowed"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith(("/", "api.", "federation.")) else None,
)
def test_bad_input_gets_a_specific_4xx(app: Flask, client: FlaskClient, method: str, path: str, body: object,
                                       status: int, error: str) -> None:
    registry = CentralDir(app.extensions["sild.central"]["config"].directory).registry()
    if not any(m.member_code == "dup" for m, _, _ in registry.members()):
        client.post("/api/v1/members", json={"id": "EE/GOV/dup", "name": "Dup"}, headers=_key(app, "system-admin"))
    serial = registry.info().serial
    headers = _key(app, "system-admin")
    if isinstance(body, str):
        response = getattr(client, method)(path, data=body, headers={**headers, "Content-Type": "application/json"})
    elif body is None:
        response = getattr(client, method)(path, headers=headers)
    else:
        response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.json["message"]
    assert registry.info().serial == serial  # a refused request changes nothing


def test_management_round_trip(app: Flask, client: FlaskClient) -> None:
    headers = _key(app, "registration-officer")
    assert client.post("/api/v1/members", json={"id": "EE/GOV/70000001", "name": "Tax"}, headers=headers).status_code == 201
    assert client.post("/api/v1/subsystems", json={"id": "EE/GOV/70000001/tax", "name": "Tax data"}, headers=headers).status_code == 201
    assert client.post("/api/v1/gateways", json={"id": "EE/GOV/70000001/ss1", "address": "ss1.ee",
                                                 "clients": ["EE/GOV/70000001/tax"]}, headers=headers).status_code == 201
    gateways = client.get("/api/v1/gateways", headers=headers).json
    assert [g["clients"] for g in gateways if g["id"] == "EE/GOV/70000001/ss1"] == [["EE/GOV/70000001/tax"]]
    groups = {g["code"]: g for g in client.get("/api/v1/global-groups", headers=headers).json}
    assert "EE/GOV/70000001" in groups["security-server-owners"]["members"]
    settings = client.patch("/api/v1/settings", json={"ocspFreshnessSeconds": 1200}, headers=_key(app, "security-officer"))
    assert settings.json["ocspFreshnessSeconds"] == "1200"
    anchor = client.get("/api/v1/anchors/external", headers=headers)
    assert anchor.status_code == 200 and b"externalconf" in anchor.data
    assert len(anchor.headers["X-Anchor-Fingerprint"].split(":")) == 28


def test_openapi_describes_every_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        path = path.replace("{request_id}", "{id}").replace("{key_id}", "{keyId}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            if "{action}" in path:
                for action in ("approve", "decline"):
                    assert (path.replace("{action}", action), method.lower()) in described
                continue
            assert (path, method.lower()) in described, f"{method} {path} is not in the OpenAPI description"
    assert "Error" in spec["components"]["schemas"]
    json.dumps(spec)  # serialisable as served


def test_openapi_is_a_valid_openapi_3_document() -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator is an optional test tool")
    spec = json.loads((Path(__file__).resolve().parents[3] / "federation" / "central" / "api" / "central_api.json").read_text())
    validator.validate(spec)


def test_errors_have_the_shape_both_admin_apis_share(app: Flask, client: FlaskClient) -> None:
    refused = client.post("/api/v1/members", json={"id": "EE/GOV/1"}, headers=_key(app, "system-admin"))
    body = refused.json
    assert refused.status_code == 400
    assert body["code"] == body["error"] == "api.missing_field" and body["message"]  # "error": the older form, kept
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Error"]
    assert set(schema["required"]) <= set(body) and schema["properties"]["error"]["deprecated"] is True
    missing = client.get("/internalconf").json
    assert missing["code"] == missing["error"] == "version_not_generated"
    unauthenticated = client.get("/api/v1/members").json
    assert unauthenticated["code"] == "api.unauthorised"


def test_error_status_comes_from_the_code_table() -> None:
    from federation.central.api._errors import status_of
    from federation.central.registry import RegistryError
    from trust.errors import SildError, TrustError

    assert status_of(TrustError("x", code="trust.signature.no_input")) == 400
    assert status_of(RegistryError("x")) == RegistryError.http_status
    assert status_of(SildError("x")) == 500


@pytest.mark.parametrize("path", ["/api/v1/member-classes", "/api/v1/global-groups"])
def test_member_classes_and_global_groups_are_added_by_code_and_description(app: Flask, client: FlaskClient,
                                                                            path: str) -> None:
    headers = _key(app, "registration-officer")
    assert client.post(path, json={"code": "ADDED"}, headers=headers).status_code == 201
    assert client.post(path, json={"code": "DESCRIBED", "description": "with words"}, headers=headers).status_code == 201
    listed = {item["code"]: item["description"] for item in client.get(path, headers=headers).json}
    assert (listed["ADDED"], listed["DESCRIBED"]) == ("", "with words")
    missing = client.post(path, json={"description": "no code"}, headers=headers)
    assert (missing.status_code, missing.json["error"]) == (400, "api.missing_field")
    assert client.post(path, json={"code": "ADDED"}, headers=_key(app, "security-officer")).status_code == 403


def test_every_described_operation_is_routed(app: Flask, client: FlaskClient) -> None:
    """The other way round from :func:`test_openapi_describes_every_route`: nothing described is missing.

    Each described path and method is routed with sample values for its parameters
    (``{kind}`` as ``internal``); an operation the app does not serve fails here.
    """
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    spec = client.get("/api/v1/openapi.json").json
    samples = {"kind": "internal", "id": "1", "keyId": "k1"}
    urls = app.url_map.bind("127.0.0.1")
    described = [(path, method) for path, ops in spec["paths"].items()
                 for method in ops if method in {"get", "put", "post", "patch", "delete"}]
    assert len(described) >= 40  # (49 in December 2026) the loop below ran over the whole description
    for path, method in described:
        concrete = re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)
        try:
            endpoint, _ = urls.match(concrete, method=method.upper())
        except (NotFound, MethodNotAllowed) as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{method.upper()} {path} is described but not served: {exc}")
        assert endpoint != "static"
