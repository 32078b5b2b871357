"""Every gateway operation of issue 17 through the admin API of running gateways, checked by its effect.

One sandbox (``sild sandbox up``: authorities, trust services, four gateways, each its
own process serving its admin API over HTTPS with a generated certificate). The
operator's key is made with the CLI (``sild gateway apikey create``), as an operator
would; every call then goes over HTTPS to the running node, verified against the
node's own certificate, and each test checks what the call changed in the running
processes: a generated key is listed and its certificate gets an OCSP response from
the node; a settings change is followed by the node's traffic within seconds; a
backup restores as a drill; descriptions show in the node's ``listMethods``; a
provider's body logging switch shows in the next exchange's record; the audit log
names the key. The Flask test client covers the refusals in
``tests/gateway/admin/test_*.py``; here nothing is in-process.
"""

from __future__ import annotations

import io
import json
import os
import re
import ssl
import subprocess
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from gateway.proxy._metaservices import list_methods_request
from gateway.sandbox import _processes as processes
from trust.protocol import ServiceId, build_request, parse_client

from tests.support.static_http import static_files

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

TAX_GW = "EE/GOV/70000001/gw1"
VERO_GW = "FI/GOV/0245437-2/gw1"
TAX = parse_client("EE/GOV/70000001/tax")
VERO_SVC = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
VERO_NS = "http://vero.sandbox.sild.eu/producer"
PERSON = "010190-123M"


def _sild(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=240,
                            env={**os.environ, "SILD_TOKEN_PIN": "sandbox-pin"})
    assert (result.returncode == 0) == ok, (result.stdout + result.stderr)[-3000:]
    return result


def _within(seconds: float, check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.5)


@dataclass
class Gateway:
    """One running gateway: its directory, IS URL and an HTTPS client with a key the CLI made."""

    directory: Path
    is_url: str
    api: httpx.Client
    key_label: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.api.request(method, path, **kw)


def _operator(info: dict[str, Any], label: str) -> Gateway:
    made = _sild("gateway", "apikey", "create", info["directory"], "--role", "admin", "--label", label).stdout
    secret = re.search(r"(sild_\S+)", made)
    assert secret is not None, made
    api = httpx.Client(base_url=info["admin_url"], verify=ssl.create_default_context(cafile=info["admin_cert_file"]),
                       headers={"Authorization": f"Bearer {secret.group(1)}"}, timeout=120, trust_env=False)
    return Gateway(Path(info["directory"]), info["is_url"], api, label)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("sandbox")
    _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        state = json.loads((root / "sandbox.json").read_text())
        state["root"] = root
        yield state
    finally:
        _sild("sandbox", "down", str(root))


@pytest.fixture(scope="module")
def tax(sandbox: dict[str, Any]) -> Gateway:
    return _operator(next(g for g in sandbox["gateways"] if g["id"] == TAX_GW), "live-ops")


@pytest.fixture(scope="module")
def vero(sandbox: dict[str, Any]) -> Gateway:
    return _operator(next(g for g in sandbox["gateways"] if g["id"] == VERO_GW), "fi-ops")


def _ask_vero(tax: Gateway) -> tuple[int, str, str]:
    """One SOAP exchange EE tax -> FI vero through the running EE gateway; (status, body, query id)."""
    query_id = str(uuid.uuid4())
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = PERSON
    message = build_request(client=TAX, service=VERO_SVC, query_id=query_id, body=body, user_id="EE38001010000")
    resp = httpx.post(tax.is_url + "/", content=message, headers={"Content-Type": "text/xml; charset=utf-8"},
                      timeout=60, trust_env=False)
    return resp.status_code, resp.text, query_id


def test_tokens_keys_and_certificates(sandbox: dict[str, Any], tax: Gateway, tmp_path: Path) -> None:
    tokens = tax.call("GET", "/api/v1/tokens").json()["tokens"]
    assert [(t["name"], t["logged_in"]) for t in tokens] == [("soft", True)]
    wrong = tax.call("POST", "/api/v1/tokens/soft/login", json={"pin": "not-the-pin"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "trust.key.wrong_pin"
    assert tax.call("POST", "/api/v1/tokens/soft/login", json={"pin": sandbox["pin"]}).json()["logged_in"] is True
    refused = tax.call("POST", "/api/v1/tokens/soft/logout")
    assert refused.status_code == 409 and refused.json()["code"] == "gateway.admin.soft_token_logout"
    # the CLI's logout asks the running node the same, and says why not in one line
    logout = _sild("gateway", "token", "logout", str(tax.directory), "soft", ok=False)
    assert "HTTP 409" in logout.stderr and "stays logged in" in logout.stderr

    made = tax.call("POST", "/api/v1/keys", json={"usage": "sign", "type": "ec-p256", "member": "EE/GOV/70000001"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]["id"]
    assert made.json()["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert key in [k["id"] for k in tax.call("GET", "/api/v1/keys").json()["keys"]]
    csr = tax.call("POST", f"/api/v1/keys/{key}/csr", json={"member": "EE/GOV/70000001"})
    assert csr.status_code == 200 and csr.json()["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----")
    (tmp_path / "new.csr.pem").write_text(csr.json()["csr"])
    _sild("trust", "issue", str(sandbox["root"] / "EE" / "trust"), "--kind", "sign", "--member", "EE/GOV/70000001",
          "--csr", str(tmp_path / "new.csr.pem"), "--out", str(tmp_path / "new"))
    imported = tax.call("POST", "/api/v1/certificates", content=(tmp_path / "new.pem").read_bytes(),
                        headers={"Content-Type": "application/x-pem-file"})
    assert imported.status_code == 201 and imported.json()["key_id"] == key, imported.text
    cert = imported.json()["id"]

    def ocsp_good() -> bool:  # the running node fetched the new certificate's OCSP response itself
        listed = tax.call("GET", f"/api/v1/keys/{key}").json()["certificates"]
        return bool(listed and (listed[0].get("ocsp") or {}).get("status") == "good")

    _within(60, ocsp_good, "an OCSP response for the imported certificate")
    node_certs = tax.call("GET", "/api/v1/diagnostics").json()["ocsp"]["certificates"]
    assert node_certs[key]["status"] == "good"  # the node now keeps the new key's certificate fresh

    assert tax.call("POST", f"/api/v1/certificates/{cert}/disable").json()["state"] == "disabled"
    assert tax.call("POST", f"/api/v1/certificates/{cert}/activate").json()["state"] == "active"
    assert tax.call("POST", f"/api/v1/keys/{key}/disable").json()["state"] == "disabled"
    # the node chooses its sign keys again at its next check (every 2 s): the former key signs
    _within(20, lambda: _ask_vero(tax)[0] == 200, "an exchange signed with the former sign key")
    assert key not in tax.call("GET", "/api/v1/diagnostics").json()["ocsp"]["certificates"]
    assert tax.call("DELETE", f"/api/v1/certificates/{cert}").status_code == 204
    assert tax.call("DELETE", f"/api/v1/keys/{key}").status_code == 204
    assert key not in [k["id"] for k in tax.call("GET", "/api/v1/keys").json()["keys"]]
    assert tax.call("POST", "/api/v1/ocsp/refresh").status_code == 200
    renewed = tax.call("POST", "/api/v1/keys/sign/renew")  # a renewal makes a new key by default
    assert renewed.status_code == 201 and renewed.json()["key"]["id"] != "sign", renewed.text
    assert renewed.json()["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert tax.call("DELETE", f"/api/v1/keys/{renewed.json()['key']['id']}").status_code == 204


def test_settings_are_followed_by_the_running_node(tax: Gateway) -> None:
    before = tax.call("GET", "/api/v1/settings").json()
    assert _ask_vero(tax)[0] == 200
    cut = tax.call("PATCH", "/api/v1/settings", json={"allowed_federations": "none"})
    assert cut.status_code == 200 and cut.json()["changed"] == ["allowed_federations"], cut.text
    assert cut.json()["restart_required"] == []
    _within(30, lambda: _ask_vero(tax)[0] != 200, "FI left routing")
    back = tax.call("PATCH", "/api/v1/settings", json={"allowed_federations": before["allowed_federations"]})
    assert back.status_code == 200
    _within(60, lambda: _ask_vero(tax)[0] == 200, "FI's configuration downloaded again")
    port = tax.call("PATCH", "/api/v1/settings", json={"peer_port": before["peer_port"] + 1})
    assert port.json()["restart_required"] == ["peer_port"]  # said, not applied
    assert _ask_vero(tax)[0] == 200
    assert tax.call("PATCH", "/api/v1/settings", json={"peer_port": before["peer_port"]}).status_code == 200
    unknown = tax.call("PATCH", "/api/v1/settings", json={"no_such_setting": 1})
    assert unknown.status_code == 400 and "is not one of the settings" in unknown.json()["message"]


def test_anchor_diagnostics_and_backup(sandbox: dict[str, Any], tax: Gateway, tmp_path: Path) -> None:
    anchors = sandbox["instances"]["EE"]["anchors"]
    held = tax.call("GET", "/api/v1/anchor").json()
    assert held["instance"] == "EE" and held["fingerprint"] == anchors["internal_sha224"]
    again = tax.call("POST", "/api/v1/anchor", content=Path(anchors["internal"]).read_bytes(),
                     headers={"Content-Type": "application/xml"})
    assert again.status_code == 200 and again.json()["unchanged"] is True, again.text
    other = Path(sandbox["instances"]["FI"]["anchors"]["internal"]).read_bytes()
    foreign = tax.call("POST", "/api/v1/anchor", content=other, headers={"Content-Type": "application/xml"})
    assert foreign.status_code in (400, 422) and "FI" in foreign.json()["message"]

    report = tax.call("GET", "/api/v1/diagnostics").json()
    assert report["server"] == TAX_GW and report["health"]["code"] == "ok"
    assert report["configuration"]["EE"]["valid"] is True and report["maintenance"]["enabled"] is False
    status = tax.call("GET", "/api/v1/status").json()
    assert status["security_server"] == TAX_GW

    backup = tax.call("POST", "/api/v1/backup", json={"passphrase": "live-test-passphrase"})
    assert backup.status_code == 200 and len(backup.content) > 1000
    (tmp_path / "gw.bak").write_bytes(backup.content)
    drill = subprocess.run(processes.sild_command("gateway", "restore", str(tmp_path / "drill"), str(tmp_path / "gw.bak"),
                                                  "--drill", "--passphrase-env", "LIVE_PASS"),
                           capture_output=True, text=True, timeout=240,
                           env={**os.environ, "LIVE_PASS": "live-test-passphrase"})
    assert drill.returncode == 0, drill.stderr
    assert f"gateway {TAX_GW}" in drill.stdout and "restore drill" in drill.stdout
    refused = tax.call("POST", "/api/v1/restore")
    assert refused.status_code == 409


def test_service_descriptions_reach_the_running_node(tax: Gateway, xroad: Path) -> None:
    wsdl = xroad / "services" / "wsdl"
    base_url = "/api/v1/service-descriptions"

    def listed() -> set[str]:
        message = list_methods_request(TAX, TAX, query_id=str(uuid.uuid4()))
        answer = httpx.post(tax.is_url + "/", content=message, headers={"Content-Type": "text/xml; charset=utf-8"},
                            timeout=60, trust_env=False)
        assert answer.status_code == 200, answer.text
        return set(re.findall(r"<id:serviceCode>([^<]+)</id:serviceCode>", answer.text)) - {"listMethods"}

    assert listed() == set()
    with static_files() as (base, files):
        files["/tax.wsdl"] = (wsdl / "valid.wsdl").read_bytes()
        files["/other.wsdl"] = (wsdl / "valid-additional-services.wsdl").read_bytes()
        added = tax.call("POST", base_url, json={"client_id": "EE:GOV:70000001:tax", "type": "WSDL",
                                                 "url": f"{base}/tax.wsdl", "enabled": True})
        assert added.status_code == 201, added.text
        desc = added.json()["id"]
        codes = set(added.json()["service_codes"])
        assert len(codes) == 3
        _within(10, lambda: listed() == codes, "the added services in listMethods")
        files["/tax.wsdl"] = (wsdl / "valid-getrandom.wsdl").read_bytes()
        refreshed = tax.call("POST", f"{base_url}/{desc}/refresh").json()
        assert refreshed["removed"] == ["xroadBigAttachment", "xroadSmallAttachment"]
        _within(10, lambda: listed() == {"xroadGetRandom"}, "the refreshed services in listMethods")
        moved = tax.call("PUT", f"{base_url}/{desc}/url", json={"url": f"{base}/other.wsdl"}).json()
        assert sorted(moved["added"]) == ["getRandom", "helloService"]
        assert moved["description"]["url"] == f"{base}/other.wsdl"
    assert tax.call("DELETE", f"{base_url}/{desc}").status_code == 204
    _within(10, lambda: listed() == set(), "no services after the description's deletion")


def _message_in_export(gateway: Gateway, query_id: str, direction: str) -> bytes:
    exported = gateway.call("GET", "/api/v1/messagelog/export", params={"query_id": query_id, "direction": direction})
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as container:
        return container.read("message.xml")


def test_body_logging_and_op_monitoring(tax: Gateway, vero: Gateway) -> None:
    provider = "FI:GOV:0245437-2:vero"
    status, text, logged = _ask_vero(tax)
    assert status == 200, text
    assert PERSON.encode() in _message_in_export(vero, logged, "request")
    off = vero.call("PATCH", f"/api/v1/clients/{provider}", json={"message_body_logging": False})
    assert off.status_code == 200 and off.json()["message_body_logging"] is False
    time.sleep(2)  # every process sees a server-configuration change within a second
    status, text, headers_only = _ask_vero(tax)
    assert status == 200, text
    kept = _message_in_export(vero, headers_only, "request")
    assert PERSON.encode() not in kept and headers_only.encode() in kept  # the X-Road headers stay
    assert vero.call("PATCH", f"/api/v1/clients/{provider}", json={"message_body_logging": None}).status_code == 200
    # the gateway-wide switch: a live setting, followed by the running node at its next check
    switched = vero.call("PATCH", "/api/v1/settings", json={"message_body_logging": False})
    assert switched.status_code == 200 and switched.json()["restart_required"] == [], switched.text

    def without_body() -> bool:
        status, text, query_id = _ask_vero(tax)
        assert status == 200, text
        return PERSON.encode() not in _message_in_export(vero, query_id, "request")

    _within(20, without_body, "the global switch in the running node")
    assert vero.call("PATCH", "/api/v1/settings", json={"message_body_logging": True}).status_code == 200
    _within(20, lambda: not without_body(), "whole messages again")

    now = int(time.time())
    records = tax.call("GET", "/api/v1/opmonitoring/records",
                       params={"records_from": now - 600, "records_to": now + 60}).json()
    ours = [r for r in records["records"] if r.get("messageId") == logged]
    assert ours and ours[0]["serviceCode"] == "getTaxRecord" and ours[0]["succeeded"] is True
    assert all(ours[0].get(f) for f in ("responseSize", "requestOutTs", "responseInTs"))
    # the same records from the shell, read beside the running node
    shell = json.loads(_sild("gateway", "log", "opmonitoring", str(tax.directory), "--since", "600",
                             "--client", "EE/GOV/70000001/tax").stdout)
    assert logged in {r["messageId"] for r in shell["records"]}


def test_x_roads_op_monitoring_services_answer_the_owner(tax: Gateway) -> None:
    """getSecurityServerOperationalData and getSecurityServerHealthData of the running gateway, called by its
    owner as X-Road's monitoring client calls them (signed SOAP through the IS port); the schema checks of the
    answers are in tests/gateway/monitoring/test_opmonitoring.py."""
    import gzip

    from trust.protocol import MemberId, SecurityServerId, SoapMessage, parse_soap

    owner, server = MemberId("EE", "GOV", "70000001"), SecurityServerId("EE", "GOV", "70000001", "gw1")
    added = tax.call("POST", "/api/v1/clients", json={"id": owner.to_text(), "state": "REGISTERED"})
    assert added.status_code in (201, 409), added.text  # the owner calls from its own gateway
    om = "http://x-road.eu/xsd/op-monitoring.xsd"
    status, text, query_id = _ask_vero(tax)
    assert status == 200, text
    time.sleep(4)  # records are served a few seconds after they were stored (X-Road's offset)

    def call(code: str, body: etree._Element) -> SoapMessage:
        message = build_request(client=owner, service=ServiceId("EE", "GOV", "70000001", None, code),
                                query_id=str(uuid.uuid4()), body=body, security_server=server)
        answer = httpx.post(tax.is_url + "/", content=message, headers={"Content-Type": "text/xml"}, timeout=60,
                            trust_env=False)
        parsed = parse_soap(answer.content, answer.headers["content-type"], role="response")
        assert isinstance(parsed, SoapMessage), answer.text[:500]
        return parsed

    now = int(time.time())
    body = etree.Element(f"{{{om}}}getSecurityServerOperationalData", nsmap={"om": om})
    criteria = etree.SubElement(body, f"{{{om}}}searchCriteria")
    etree.SubElement(criteria, f"{{{om}}}recordsFrom").text = str(now - 600)
    etree.SubElement(criteria, f"{{{om}}}recordsTo").text = str(now)
    (attachment,) = call("getSecurityServerOperationalData", body).attachments
    records = json.loads(gzip.decompress(attachment.read()))["records"]
    assert query_id in {r.get("messageId") for r in records}
    health = call("getSecurityServerHealthData", etree.Element(f"{{{om}}}getSecurityServerHealthData", nsmap={"om": om}))
    answer = health.envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]  # type: ignore[index]
    assert answer.tag == f"{{{om}}}getSecurityServerHealthDataResponse"
    assert int(answer.findtext(f"{{{om}}}monitoringStartupTimestamp") or 0) > 0  # this running node's start
    assert answer.find(f"{{{om}}}servicesEvents") is not None  # this gateway provides no service (a consumer)


def test_client_lifecycle_through_the_api(sandbox: dict[str, Any], tax: Gateway) -> None:
    """clientReg, sync, clientDeletion, sync over the running gateway's API; the officer decides with the CLI."""
    central = sandbox["instances"]["EE"]["central_dir"]
    authority = {"authority": sandbox["instances"]["EE"]["central_url"]}  # the sandbox registered without a request
    client = "EE:GOV:70000001:ledger"

    def submitted(kind: str) -> str:
        listed = json.loads(_sild("central", "registration", "list", central, "--status", "submitted").stdout)
        return str(next(r["id"] for r in listed if r["type"] == kind and r["server"] == TAX_GW))

    def sync_says(outcome: str) -> bool:
        answer = tax.call("POST", "/api/v1/clients/sync").json()["clients"]
        return any(e["client"] == "EE/GOV/70000001/ledger" and e["outcome"] == outcome for e in answer)

    reg = tax.call("POST", f"/api/v1/clients/{client}/registration", json=authority)
    assert reg.status_code == 202 and reg.json()["state"] == "REGISTRATION_IN_PROGRESS", reg.text
    _sild("central", "registration", "approve", central, submitted("clientReg"))
    _within(90, lambda: sync_says("registered"), "the registered client in the configuration")
    assert tax.call("GET", f"/api/v1/clients/{client}").json()["state"] == "REGISTERED"
    gone = tax.call("POST", f"/api/v1/clients/{client}/deletion", json=authority)
    assert gone.status_code == 202 and gone.json()["state"] == "DELETION_IN_PROGRESS"
    _sild("central", "registration", "approve", central, submitted("clientDeletion"))
    _within(90, lambda: sync_says("not_listed"), "the deleted client out of the configuration")
    assert tax.call("DELETE", f"/api/v1/clients/{client}").status_code in (200, 204)

    # an owner change to a member whose sign key this gateway lacks: refused before anything is sent (the
    # whole owner change, and the running node then serving as the new owner: tests/gateway/cli/test_management_requests.py)
    owner = tax.call("POST", "/api/v1/owner-change", json={"member": "EE:COM:10000003", **authority})
    assert owner.status_code == 400 and "holds no sign key for it" in owner.json()["message"], owner.text
    assert tax.call("POST", "/api/v1/owner-change/apply").json() == {"server": TAX_GW, "changed": False}
    address = tax.call("POST", "/api/v1/address-change", json={"address": "gw1.tax.example:5500", **authority})
    assert address.status_code == 202, address.text
    _sild("central", "registration", "decline", central, submitted("addressChange"), "--comment", "test")


def test_an_owner_change_through_the_api_is_served_without_a_restart(sandbox: dict[str, Any]) -> None:
    """ownerChange sent by the running gateway, approved by the officer, applied over the API: the running
    node then serves as the new owner (its identity in the status the admin API reports)."""
    population = _operator(next(g for g in sandbox["gateways"] if g["id"] == "EE/GOV/70000002/gw1"), "pop-ops")
    central = sandbox["instances"]["EE"]["central_dir"]
    sent = population.call("POST", "/api/v1/owner-change",
                           json={"member": "EE:COM:10000003", "authority": sandbox["instances"]["EE"]["central_url"]})
    assert sent.status_code == 202, sent.text
    listed = json.loads(_sild("central", "registration", "list", central, "--status", "submitted").stdout)
    request = next(r["id"] for r in listed if r["type"] == "ownerChange")
    _sild("central", "registration", "approve", central, str(request))
    applied = _within(90, lambda: population.call("POST", "/api/v1/owner-change/apply").json().get("changed"),
                      "the owner change in the published configuration")
    assert applied is True
    _within(30, lambda: population.call("GET", "/api/v1/status").json()["security_server"] == "EE/COM/10000003/gw1",
            "the running node serving as the new owner")


def test_timestamping_services_are_chosen_on_the_running_gateway(tax: Gateway, tmp_path: Path) -> None:
    """The sandbox's approved TSA listed by the CLI and the API, chosen by URL (an unapproved one refused), the
    waiting records stamped now by it through the running node; back to every approved TSA."""
    d = str(tax.directory)
    listed = tax.call("GET", "/api/v1/timestamping-services").json()
    assert listed["all_approved"] is True and len(listed["services"]) >= 1, listed
    url = listed["services"][0]["url"]
    assert f"{url}  (in use, #1)" in _sild("gateway", "tsa", "list", d).stdout
    refused = _sild("gateway", "tsa", "use", d, "http://127.0.0.1:1/not-approved", ok=False)
    assert "is not a TSA approved in the global configuration" in refused.stderr
    assert "timestamping with " + url in _sild("gateway", "tsa", "use", d, listed["services"][0]["name"]).stdout
    assert tax.call("GET", "/api/v1/settings").json()["timestamping_services"] == [url]
    assert _ask_vero(tax)[0] == 200
    key = tmp_path / "key"
    key.write_text(tax.api.headers["Authorization"].removeprefix("Bearer "))  # the operator's admin key
    ran = _sild("gateway", "tsa", "run", d, "--key-file", str(key), "--json")
    outcome = json.loads(ran.stdout)
    assert outcome["tsa"] in (url, None) and (outcome["stamped"] == 0 or outcome["attempts"] == {url: "ok"}), outcome
    assert tax.call("GET", "/api/v1/diagnostics").json()["message_log"]["unstamped"] == 0  # nothing left waiting
    back = tax.call("PUT", "/api/v1/timestamping-services", json=[])
    assert back.status_code == 200 and back.json()["chosen"] == [], back.text
    operations = [e["operation"] for e in tax.call("GET", "/api/v1/audit", params={"limit": 50}).json()["entries"]]
    assert {"gateway tsa use", "POST /api/v1/timestamping/run", "PUT /api/v1/timestamping-services"} <= set(operations)


def test_the_audit_log_names_the_key_and_keeps_no_pin(tax: Gateway) -> None:
    """Last in this module: the calls of the tests above are on record under the CLI-made key's label."""
    entries = tax.call("GET", "/api/v1/audit", params={"limit": 500}).json()["entries"]
    ours = [e for e in entries if e["actor"].startswith(f"{tax.key_label} (key ")]
    operations = {e["operation"] for e in ours}
    assert {"POST /api/v1/keys", "POST /api/v1/certificates", "POST /api/v1/keys/sign/renew", "PATCH /api/v1/settings", "POST /api/v1/backup",
            "POST /api/v1/tokens/soft/login", "POST /api/v1/service-descriptions"} <= operations
    assert all(e["source"] == "127.0.0.1" for e in ours)
    logins = [e for e in ours if e["operation"] == "POST /api/v1/tokens/soft/login"]
    assert {e["outcome"] for e in logins} >= {"ok", "trust.key.wrong_pin"}
    text = json.dumps(ours)
    assert "not-the-pin" not in text and "sandbox-pin" not in text and "live-test-passphrase" not in text
    assert "[redacted]" in text
    assert any(e["operation"] == "gateway apikey create" for e in entries)  # the CLI's own entry
