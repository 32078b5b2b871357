"""Admin API over real HTTP (cheroot on 127.0.0.1): keys and roles, configuration, evidence, monitoring."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from cheroot import wsgi

from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.messagelog import LogEntry, MessageLog
from gateway.monitoring import GatewayMetrics
from gateway.monitoring import OpMonitor
from gateway.monitoring._store import client_fields
from gateway.serverconf import ServerConf
from gateway.serverconf import create_api_key, list_api_keys, revoke_api_key
from gateway.db import open_engine
from trust.protocol import SecurityServerId, SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")


class Admin:
    def __init__(self, directory: Path) -> None:
        engine = open_engine(directory / "gw.db")
        self.conf = ServerConf(engine, clock=lambda: T0, refresh_interval=0)
        self.conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
        self.log = MessageLog(engine, clock=lambda: T0)
        self.opmon = OpMonitor(engine, clock=lambda: T0)
        self.metrics = GatewayMetrics()
        self.app = create_app(AdminConfig(self.conf, self.log, self.opmon, self.metrics))
        self.server = wsgi.Server(("127.0.0.1", 0), self.app)
        self.server.prepare()
        self.url = f"http://127.0.0.1:{self.server.bind_addr[1]}"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        self.keys = {role: create_api_key(self.conf, [role], f"test {role}")[1]
                     for role in ("admin", "service-admin", "auditor", "viewer")}
        self.http = httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)

    def call(self, method: str, path: str, role: str | None = "admin", **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.http.request(method, path, headers=headers, **kw)

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    a = Admin(tmp_path_factory.mktemp("admin"))
    yield a
    a.close()


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_health_and_description_are_open(admin: Admin) -> None:
    health = admin.call("GET", "/healthz", role=None)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    spec = admin.call("GET", "/api/v1/openapi.json", role=None).json()
    assert spec["openapi"].startswith("3.0")
    # every route of the app is described, and every described path exists
    described = {p.replace("{", "<").replace("}", ">") for p in spec["paths"]}
    routes = {r.rule.replace("<int:", "<") for r in admin.app.url_map.iter_rules()
              if r.endpoint != "static" and not r.endpoint.startswith(("ui.", "ui_assets."))}  # the web UI is no API
    assert described == routes


def test_authentication_and_roles(admin: Admin) -> None:
    assert admin.call("GET", "/api/v1/clients", role=None).status_code == 401
    bad = admin.call("GET", "/api/v1/clients", role=None, headers={"Authorization": "Bearer sild_nope"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.json()["error"]["message"]
    assert admin.call("GET", "/api/v1/clients", role="viewer").status_code == 200
    # the unversioned paths of before are gone (nothing calls them): no silent alias
    gone = admin.call("GET", "/api/clients", role="viewer")
    assert gone.status_code == 404 and error_code(gone) == "gateway.admin.http_404"
    forbidden = admin.call("POST", "/api/v1/clients", role="viewer", json={"id": "EE/COM/1/x"})
    assert forbidden.status_code == 403 and error_code(forbidden) == "gateway.admin.forbidden"
    assert admin.call("GET", "/api/v1/messagelog/export?query_id=x", role="service-admin").status_code == 403
    key_id, secret = create_api_key(admin.conf, ["viewer"], "short-lived")
    assert admin.call("GET", "/api/v1/status", role=None, headers={"X-API-Key": secret}).status_code == 200
    revoke_api_key(admin.conf, key_id)
    assert admin.call("GET", "/api/v1/status", role=None, headers={"X-API-Key": secret}).status_code == 401
    assert any(k.revoked for k in list_api_keys(admin.conf))


def test_configuration_flow(admin: Admin) -> None:
    r = admin.call("POST", "/api/v1/clients", json={"id": PROVIDER.to_text(), "state": "REGISTERED"})
    assert r.status_code == 201 and r.json()["path_id"] == "EE:GOV:70000001:tax"
    assert admin.call("POST", "/api/v1/clients", role="service-admin", json={"id": "SUBSYSTEM:EE/COM/20000002/app",
                                                                          "is_auth": "https"}).status_code == 201
    r = admin.call("POST", "/api/v1/clients/EE:GOV:70000001:tax/services",
                   json={"type": "REST", "url": "http://127.0.0.1:9/api", "service_code": "persons"})
    assert r.status_code == 201 and r.json()["enabled"] is False and r.json()["service_codes"] == ["persons"]
    r = admin.call("PATCH", "/api/v1/clients/EE:GOV:70000001:tax/services/persons", json={"enabled": True, "timeout_seconds": 5})
    assert r.status_code == 200 and r.json()["services"][0]["enabled"] and r.json()["services"][0]["timeout_seconds"] == 5
    assert admin.call("POST", "/api/v1/clients/EE:GOV:70000001:tax/services/persons/endpoints",
                      json={"method": "GET", "path": "/persons/{id}"}).status_code == 201
    grant = {"provider": "EE/GOV/70000001/tax", "service_code": "persons", "subject": "EE/COM/20000002/app",
             "method": "GET", "path": "/persons/{id}"}
    assert admin.call("POST", "/api/v1/access-rights", json=grant).status_code == 201
    again = admin.call("POST", "/api/v1/access-rights", json=grant)
    assert again.status_code == 409 and error_code(again) == "gateway.serverconf.already_exists"
    rights = admin.call("GET", "/api/v1/access-rights?client=EE/GOV/70000001/tax", role="viewer").json()["access_rights"]
    assert rights == [{"provider": "EE/GOV/70000001/tax", "service_code": "persons", "method": "GET",
                       "path": "/persons/{id}", "subject": "SUBSYSTEM:EE/COM/20000002/app",
                       "purposes": [], "valid_from": None, "valid_until": None}]  # no terms (issue 20)
    allowed = admin.call("GET", "/api/v1/clients/EE:COM:20000002:app/allowed-services?provider=EE/GOV/70000001/tax").json()
    assert [s["service_code"] for s in allowed["services"]] == ["persons"]
    assert admin.call("POST", "/api/v1/clients/EE:GOV:70000001:tax/local-groups", json={"code": "clerks"}).status_code == 201
    assert admin.call("POST", "/api/v1/clients/EE:GOV:70000001:tax/local-groups/clerks/members",
                      json={"members": ["EE/COM/20000002/app"]}).status_code == 204
    groups = admin.call("GET", "/api/v1/clients/EE:GOV:70000001:tax/local-groups").json()["local_groups"]
    assert groups == [{"code": "clerks", "description": "", "members": ["EE/COM/20000002/app"]}]
    assert admin.call("POST", "/api/v1/access-rights/revoke", json=grant).status_code == 204
    assert admin.call("POST", "/api/v1/access-rights/revoke", json=grant).status_code == 404
    status = admin.call("GET", "/api/v1/status", role="viewer").json()
    assert status["security_server"] == "EE/GOV/70000001/ss1" and status["clients"] == 2


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("POST", "/api/v1/clients", None, 400, "gateway.admin.bad_body"),
        ("POST", "/api/v1/clients", [1, 2], 400, "gateway.admin.bad_body"),
        ("POST", "/api/v1/clients", {}, 400, "gateway.admin.missing_field"),
        ("POST", "/api/v1/clients", {"id": 7}, 400, "gateway.admin.bad_field"),
        ("POST", "/api/v1/clients", {"id": "EE/GOV"}, 400, "gateway.serverconf.invalid_input"),
        ("POST", "/api/v1/clients", {"id": "EE/GOV/1/a", "is_auth": "telnet"}, 400, "gateway.serverconf.invalid_input"),
        ("GET", "/api/v1/clients/EE:GOV", None, 400, "gateway.admin.bad_identifier"),
        ("GET", "/api/v1/clients/EE:GOV:999:none", None, 404, "gateway.serverconf.client_not_found"),
        ("DELETE", "/api/v1/clients/EE:GOV:999:none", None, 404, "gateway.serverconf.client_not_found"),
        ("POST", "/api/v1/clients/EE:GOV:999:none/services", {"type": "REST", "url": "http://x", "service_code": "a"}, 404,
         "gateway.serverconf.client_not_found"),
        ("POST", "/api/v1/clients/EE:GOV:999:none/services", {"type": "SMTP", "url": "http://x"}, 400, "gateway.admin.bad_field"),
        ("PATCH", "/api/v1/clients/EE:GOV:999:none/services/x", {"enabled": "yes"}, 400, "gateway.admin.bad_field"),
        ("POST", "/api/v1/access-rights", {"provider": "EE/GOV/1/a", "service_code": "x", "subject": "SERVER:EE/GOV/1/ss"}, 400,
         "gateway.serverconf.invalid_input"),
        ("DELETE", "/api/v1/service-descriptions/999", None, 404, "gateway.serverconf.description_not_found"),
        ("GET", "/api/v1/opmonitoring/records?records_from=x", None, 400, "gateway.admin.bad_query"),
        ("GET", "/api/v1/opmonitoring/records?records_from=10&records_to=5", None, 400, "gateway.opmonitoring.invalid_query"),
        ("GET", "/api/v1/messagelog/export", None, 400, "gateway.admin.missing_field"),
        ("GET", "/api/v1/messagelog/export?query_id=none", None, 404, "gateway.messagelog.not_found"),
        ("GET", "/api/v1/nothing-here", None, 404, "gateway.admin.http_404"),
        ("GET", "/api/v1/diagnostics", None, 404, "gateway.admin.no_node"),
        ("PUT", "/api/v1/clients", None, 405, "gateway.admin.http_405"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("gateway") else None,
)
def test_bad_input_gets_a_specific_4xx(admin: Admin, method: str, path: str, body: Any, status: int, code: str) -> None:
    kw: dict[str, Any] = {"json": body} if body is not None else {}
    response = admin.call(method, path, **kw)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert "Traceback" not in response.text


def test_export_and_monitoring(admin: Admin) -> None:
    message = b"<env>q-export</env>"
    signature = b"<sig>" + hashlib.sha512(message).hexdigest().encode() + b"</sig>"
    admin.log.append(LogEntry(query_id="q-export", client=CONSUMER, service=PROVIDER.service("persons"), side="server",
                              direction="request", kind="SOAP", message=message, signature=signature, logged_at=T0))
    r = admin.call("GET", "/api/v1/messagelog/export?query_id=q-export", role="auditor")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.etsi.asic-e+zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.read("mimetype") == b"application/vnd.etsi.asic-e+zip"
        assert z.read("message.xml") == message and z.read("META-INF/signatures.xml") == signature
    not_stamped = admin.call("GET", "/api/v1/messagelog/export?query_id=q-export&require_timestamp=true", role="auditor")
    assert not_stamped.status_code == 409 and error_code(not_stamped) == "gateway.archive.not_timestamped"
    ts = int(T0.timestamp())
    admin.opmon.store({"monitoringDataTs": ts, "securityServerType": "Producer", "succeeded": True,
                       **client_fields(CONSUMER), "serviceCode": "persons"})
    got = admin.call("GET", f"/api/v1/opmonitoring/records?records_from={ts}&records_to={ts}&client=EE/COM/20000002/app",
                     role="auditor").json()
    assert got["recordsCount"] == 1 and got["records"][0]["clientSubsystemCode"] == "app"
    admin.metrics.observe("server", "REST", 0.01)
    metrics = admin.call("GET", "/metrics", role="viewer")
    assert metrics.status_code == 200 and "sild_gateway_requests_total" in metrics.text


def test_metrics_of_a_node_with_workers_add_the_workers_figures(tmp_path: Path) -> None:
    """The node hands its workers' metrics directory to the admin API (AdminConfig.from_node)."""
    from types import SimpleNamespace

    from prometheus_client.parser import text_string_to_metric_families

    conf = ServerConf(open_engine(tmp_path / "gw.db"), clock=lambda: T0, refresh_interval=0)
    conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
    main, worker = GatewayMetrics(), GatewayMetrics()
    for _ in range(2):
        main.observe("client", "REST", 0.01)
    for _ in range(3):
        worker.observe("client", "REST", 0.02)
    (tmp_path / "workers").mkdir()
    worker.dump(tmp_path / "workers" / "worker-1.prom")
    node = SimpleNamespace(serverconf=conf, metrics=main, worker_metrics_dir=tmp_path / "workers")
    client = create_app(AdminConfig.from_node(node)).test_client()
    key = create_api_key(conf, ["viewer"], "metrics")[1]
    text = client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).get_data(as_text=True)
    total = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "sild_gateway_requests_total")
    assert total == 5


def test_errors_have_the_shape_both_admin_apis_share(admin: Admin) -> None:
    refused = admin.call("GET", "/api/v1/clients/EE:GOV:70000001:none")
    body = refused.json()
    assert refused.status_code == 404 and body["code"] == "gateway.serverconf.client_not_found"
    assert body["error"] == {"code": body["code"], "message": body["message"]}  # the older form, still there
    spec = admin.call("GET", "/api/v1/openapi.json", role=None).json()
    schema = spec["components"]["schemas"]["Error"]
    assert set(schema["required"]) <= set(body) and schema["properties"]["error"]["deprecated"] is True
    central = json.loads((Path(__file__).resolve().parents[3] / "federation" / "central" / "api" / "central_api.json").read_text())
    shared = central["components"]["schemas"]["Error"]
    assert {k: shared["properties"][k]["type"] for k in ("code", "message")} == {"code": "string", "message": "string"}
    assert {k: schema["properties"][k]["type"] for k in ("code", "message")} == {"code": "string", "message": "string"}
    assert set(shared["required"]) == set(schema["required"])
    unauthenticated = admin.call("GET", "/api/v1/clients", role=None).json()
    assert unauthenticated["code"] == unauthenticated["error"]["code"] == "gateway.admin.unauthenticated"


def test_error_status_comes_from_the_code_table() -> None:
    from gateway.admin._errors import DEFAULT_STATUS, STATUS
    from gateway.messagelog import RecordNotFound
    from gateway.serverconf import AlreadyExists, NotFound
    from trust.errors import IdentifierError, SildError
    from trust.infra import status_for

    assert status_for(NotFound("x", code="gateway.serverconf.api_key_not_found"), STATUS, DEFAULT_STATUS) == 404
    assert status_for(RecordNotFound("x"), STATUS, DEFAULT_STATUS) == 404
    assert status_for(AlreadyExists("x"), STATUS, DEFAULT_STATUS) == 409
    assert status_for(IdentifierError("x"), STATUS, DEFAULT_STATUS) == 400
    assert status_for(SildError("x"), STATUS, DEFAULT_STATUS) == 400


def test_openapi_is_a_valid_openapi_3_document() -> None:
    import yaml

    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator is an optional test tool")
    spec = yaml.safe_load((Path(__file__).resolve().parents[3] / "gateway" / "admin" / "admin_api.yaml").read_text())
    validator.validate(spec)


def test_message_log_search_by_exchange_client_service_and_time(admin: Admin) -> None:
    later = T0 + dt.timedelta(hours=2)
    other = SubsystemId("EE", "COM", "20000009", "shop")
    for query_id, client, at in (("q-find-1", CONSUMER, T0), ("q-find-2", other, later), ("q-find-3", CONSUMER, later)):
        message = f"<env>{query_id}</env>".encode()
        admin.log.append(LogEntry(query_id=query_id, client=client, service=PROVIDER.service("find"), side="server",
                                  direction="request", kind="SOAP", message=message, signature=b"<sig/>",
                                  logged_at=at))

    def found(**query: str) -> list[str]:
        answer = admin.call("GET", "/api/v1/messagelog/records", role="auditor", params={"service": "find", **query})
        assert answer.status_code == 200, answer.text
        return [r["query_id"] for r in answer.json()["records"]]

    assert found() == ["q-find-3", "q-find-2", "q-find-1"]  # newest first
    assert found(query_id="q-find-2") == ["q-find-2"]
    assert found(client="20000002/app") == ["q-find-3", "q-find-1"]
    assert found(since=(T0 + dt.timedelta(hours=1)).isoformat()) == ["q-find-3", "q-find-2"]
    assert found(until=T0.isoformat()) == ["q-find-1"]
    first = admin.call("GET", "/api/v1/messagelog/records", role="auditor", params={"service": "find", "limit": "2"})
    assert first.json()["next_before"] is not None
    assert found(before=str(first.json()["next_before"])) == ["q-find-1"]
    record = first.json()["records"][0]
    assert record["client"] == CONSUMER.typed_text() and record["timestamped"] is False
    assert admin.call("GET", "/api/v1/messagelog/records", role="service-admin").status_code == 403
    bad = admin.call("GET", "/api/v1/messagelog/records?since=yesterday", role="auditor")
    assert bad.status_code == 400 and error_code(bad) == "gateway.admin.bad_query"


def test_api_keys_are_listed_created_and_revoked_by_an_admin_only(admin: Admin) -> None:
    assert admin.call("GET", "/api/v1/api-keys", role="viewer").status_code == 403
    made = admin.call("POST", "/api/v1/api-keys", json={"roles": ["viewer"], "label": "rotated monitoring"})
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["roles"] == ["viewer"] and created["key"].startswith("sild_") and not created["revoked"]
    fresh = {"Authorization": f"Bearer {created['key']}"}
    assert admin.call("GET", "/api/v1/status", role=None, headers=fresh).status_code == 200
    listed = admin.call("GET", "/api/v1/api-keys").json()["api_keys"]
    assert {"id": created["id"], "roles": ["viewer"], "label": "rotated monitoring", "revoked": False}.items() <= \
        next(k for k in listed if k["id"] == created["id"]).items()
    assert all("key" not in k for k in listed)
    bad = admin.call("POST", "/api/v1/api-keys", json={"roles": ["root"]})
    assert bad.status_code == 400 and "unknown role(s) root" in bad.json()["message"]
    assert admin.call("DELETE", f"/api/v1/api-keys/{created['id']}").status_code == 204
    assert admin.call("GET", "/api/v1/status", role=None, headers=fresh).status_code == 401
    missing = admin.call("DELETE", "/api/v1/api-keys/999999")
    assert missing.status_code == 404 and error_code(missing) == "gateway.serverconf.api_key_not_found"
    audit = admin.call("GET", "/api/v1/audit", role="auditor").json()["entries"]
    assert not any(created["key"] in json.dumps(e) for e in audit)


METHODS = {"get", "put", "post", "patch", "delete"}


def test_every_described_operation_is_served_and_every_served_one_described(admin: Admin) -> None:
    """Method by method, both ways: the description (admin_api.yaml as served) and the app's routes.

    A described operation is routed with sample values for its parameters (an ``int``
    converter takes ``1``), so a typo in either the description or a route fails here.
    """
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    spec = admin.call("GET", "/api/v1/openapi.json", role=None).json()
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops if method in METHODS}
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in admin.app.url_map.iter_rules()
              if rule.endpoint != "static" and not rule.endpoint.startswith(("ui.", "ui_assets."))  # the web UI
              for method in rule.methods - {"HEAD", "OPTIONS"}}  # type: ignore[operator]
    assert served - described == set(), "served but not described"
    assert described - served == set(), "described but not served"
    urls = admin.app.url_map.bind("127.0.0.1")
    for path, method in described:
        concrete = re.sub(r"\{\w+\}", "1", path)
        try:
            urls.match(concrete, method=method.upper())
        except (NotFound, MethodNotAllowed) as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{method.upper()} {path} is described but {concrete} is not routed: {exc}")
    assert {("/api/v1/owner-change/apply", "post"), ("/api/v1/tokens/{name}/logout", "post")} <= described
