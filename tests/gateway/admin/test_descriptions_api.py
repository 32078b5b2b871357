"""``/api/v1/service-descriptions`` over real HTTP: add from a served WSDL/OpenAPI, refresh after it changed, re-point."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from trust.protocol import MemberId

from tests.gateway.admin.test_admin import CONSUMER, PROVIDER, Admin, error_code
from tests.support.static_http import static_files

BASE = "/api/v1/service-descriptions"
TAX = "EE:GOV:70000001:tax"


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    a = Admin(tmp_path)
    a.conf.add_client(PROVIDER, state="REGISTERED")
    a.conf.add_client(CONSUMER)
    yield a
    a.close()


def test_wsdl_description_through_the_api(admin: Admin, xroad: Path) -> None:
    wsdl = xroad / "services" / "wsdl"
    with static_files() as (base, files):
        files["/tax.wsdl"] = (wsdl / "valid.wsdl").read_bytes()
        files["/other.wsdl"] = (wsdl / "valid-additional-services.wsdl").read_bytes()
        r = admin.call("POST", BASE, role="service-admin", json={"client_id": TAX, "type": "WSDL", "url": f"{base}/tax.wsdl"})
        assert r.status_code == 201, r.text
        desc = r.json()
        assert desc["enabled"] is False and desc["disabled_notice"] == "Out of order" and len(desc["service_codes"]) == 3
        assert admin.call("PATCH", f"/api/v1/clients/{TAX}/services/xroadGetRandom", json={"enabled": True}).status_code == 200
        admin.conf.grant(PROVIDER, "xroadGetRandom", CONSUMER)
        admin.conf.grant(PROVIDER, "xroadBigAttachment", CONSUMER)

        listed = admin.call("GET", f"{BASE}?client={TAX}", role="viewer").json()["service_descriptions"]
        assert [(d["id"], d["type"], d["enabled"]) for d in listed] == [(desc["id"], "WSDL", True)]
        assert admin.call("POST", f"{BASE}/{desc['id']}/refresh", role="viewer").status_code == 403

        files["/tax.wsdl"] = (wsdl / "valid-getrandom.wsdl").read_bytes()
        r = admin.call("POST", f"{BASE}/{desc['id']}/refresh", role="service-admin")
        assert r.status_code == 200, r.text
        assert r.json()["removed"] == ["xroadBigAttachment", "xroadSmallAttachment"] and r.json()["added"] == []
        assert r.json()["description"]["enabled"] is True
        rights = admin.call("GET", "/api/v1/access-rights").json()["access_rights"]
        assert [x["service_code"] for x in rights] == ["xroadGetRandom"]

        r = admin.call("PUT", f"{BASE}/{desc['id']}/url", json={"url": f"{base}/other.wsdl"})
        assert r.status_code == 200 and sorted(r.json()["added"]) == ["getRandom", "helloService"]
        gone = admin.call("PUT", f"{BASE}/{desc['id']}/url", json={"url": f"{base}/gone.wsdl"})
        assert gone.status_code == 502 and error_code(gone) == "gateway.serverconf.fetch_failed"
        files["/other.wsdl"] = (wsdl / "xxe.wsdl").read_bytes()
        bad = admin.call("POST", f"{BASE}/{desc['id']}/refresh")
        assert bad.status_code == 400 and "WSDL" in bad.json()["error"]["message"]
    assert admin.call("POST", f"{BASE}/999/refresh").status_code == 404
    assert admin.call("PUT", f"{BASE}/{desc['id']}/url", json={}).status_code == 400


def test_openapi_description_refresh(admin: Admin, xroad: Path) -> None:
    openapi = xroad / "services" / "openapi"
    with static_files("application/yaml") as (base, files):
        files["/api.yaml"] = (openapi / "valid.yaml").read_bytes()
        r = admin.call("POST", BASE, json={"client_id": "EE/GOV/70000001/tax", "type": "OPENAPI",
                                           "url": f"{base}/api.yaml", "service_code": "testapi"})
        assert r.status_code == 201 and r.json()["service_codes"] == ["testapi"]
        files["/api.yaml"] = (openapi / "valid_modified.yaml").read_bytes()
        r = admin.call("POST", f"{BASE}/{r.json()['id']}/refresh")
        assert r.status_code == 200 and r.json()["changed"] == ["testapi"]
    eps = admin.call("GET", f"/api/v1/clients/{TAX}/services/testapi/endpoints").json()["endpoints"]
    assert {(e["method"], e["path"]) for e in eps} == {("*", "**"), ("GET", "/test"), ("PATCH", "/test"), ("GET", "/foo")}


def test_a_subsystem_body_logging_override(admin: Admin) -> None:
    client = admin.call("GET", f"/api/v1/clients/{TAX}").json()
    assert client["message_body_logging"] is None
    r = admin.call("PATCH", f"/api/v1/clients/{TAX}", role="service-admin", json={"message_body_logging": False})
    assert r.status_code == 200 and r.json()["message_body_logging"] is False
    assert admin.conf.snapshot().client(PROVIDER).body_logging is False  # type: ignore[union-attr]
    r = admin.call("PATCH", f"/api/v1/clients/{TAX}", json={"message_body_logging": None})
    assert r.json()["message_body_logging"] is None
    bad = admin.call("PATCH", f"/api/v1/clients/{TAX}", json={"message_body_logging": "off"})
    assert bad.status_code == 400
    admin.conf.add_client(MemberId("EE", "COM", "20000002"))
    member = admin.call("PATCH", "/api/v1/clients/EE:COM:20000002", json={"message_body_logging": True})
    assert member.status_code == 400 and "per subsystem" in member.json()["error"]["message"]
