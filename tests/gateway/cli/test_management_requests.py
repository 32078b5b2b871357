"""The client lifecycle of a registered gateway, end to end (issue 17).

A real sandbox (running authority nodes, CA with OCSP, served gateways): the
operator of gateway EE/GOV/70000002/gw1 sends X-Road's management requests with
``sild gateway client register|delete``, ``owner change`` and ``address``; the
authority's officer sees them in ``sild central registration list`` and decides
with the existing commands or the API of the running node, which then shows the
change.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.node._workers import sild_command

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]

GATEWAY = "EE/GOV/70000002/gw1"
BANK = "EE/COM/10000003"  # a member hosted on GATEWAY (its sign key is there)


def _sild(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(sild_command(*args), capture_output=True, text=True, timeout=240,
                            env={k: v for k, v in os.environ.items() if k != "SILD_TOKEN_PIN"})  # DIR/token.pin
    assert (result.returncode == 0) == ok, (result.stdout + result.stderr)[-3000:]
    return result


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("sandbox")
    _sild("sandbox", "up", str(root), "--owner-pid", str(os.getpid()))
    try:
        yield json.loads((root / "sandbox.json").read_text())
    finally:
        _sild("sandbox", "down", str(root))


def test_client_lifecycle_requests_reach_the_officer_and_take_effect(sandbox: Any) -> None:
    gdir = next(g["directory"] for g in sandbox["gateways"] if g["id"] == GATEWAY)
    ee = sandbox["instances"]["EE"]
    central, url = ee["central_dir"], ee["central_url"]
    key = _sild("central", "apikey", "create", central, "--name", "officer", "--role", "registration-officer").stdout
    # the management API on its own HTTPS port (the sandbox serves the authority's UI there)
    api = httpx.Client(base_url=ee["api_url"], headers={"X-API-Key": key.strip()}, timeout=30, trust_env=False,
                       verify=ssl.create_default_context(cafile=ee["api_cert_file"]))

    def gateways() -> dict[str, Any]:
        return {g["id"]: g for g in api.get("/api/v1/gateways").json()}

    def submitted(kind: str) -> int:
        listed = json.loads(_sild("central", "registration", "list", central, "--status", "submitted").stdout)
        return int(next(r["id"] for r in listed if r["type"] == kind and r["server"].endswith("/gw1")))

    stats = "EE/GOV/70000002/stats"
    settings_file = Path(gdir) / "gateway.json"
    recorded = settings_file.read_text()  # the sandbox records each gateway's authority (the UI sends there)
    assert json.loads(recorded)["registration"] == {"authority": url}
    settings_file.write_text(json.dumps(dict(json.loads(recorded), registration={})))
    try:  # a gateway that knows no authority says how to name one
        unknown = _sild("gateway", "client", "register", gdir, stats, ok=False)
    finally:
        settings_file.write_text(recorded)
    assert "no authority URL known" in unknown.stderr and "--authority" in unknown.stderr
    _sild("gateway", "client", "register", gdir, stats, "--authority", url)
    again = _sild("gateway", "client", "register", gdir, stats, "--authority", url, ok=False)
    assert "HTTP 409" in again.stderr and "still waiting" in again.stderr
    local = json.loads(_sild("gateway", "client", "list", gdir, "--json").stdout)
    assert {c["id"]: c["state"] for c in local}[stats] == "REGISTRATION_IN_PROGRESS"
    approved = _sild("central", "registration", "approve", central, str(submitted("clientReg")))
    assert f"{stats} registered as a client of gateway {GATEWAY}" in approved.stdout
    assert stats in gateways()[GATEWAY]["clients"]
    # once the authority has published the change, the gateway marks the client registered
    assert "registered" in _until(lambda: _sild("gateway", "client", "sync", gdir).stdout, f"{stats}: registered")
    local = json.loads(_sild("gateway", "client", "list", gdir, "--json").stdout)
    assert {c["id"]: c["state"] for c in local}[stats] == "REGISTERED"

    # a subsystem of the hosted member: the gateway signs with that member's key too; approved over the API
    payments = BANK + "/payments"
    _sild("gateway", "client", "register", gdir, payments, "--authority", url)
    decision = api.post(f"/api/v1/registration-requests/{submitted('clientReg')}/approve")
    assert decision.status_code == 200 and decision.json()["status"] == "approved"
    assert payments in gateways()[GATEWAY]["clients"]

    _sild("gateway", "client", "delete", gdir, stats, "--authority", url)
    local = json.loads(_sild("gateway", "client", "list", gdir, "--json").stdout)
    assert {c["id"]: c["state"] for c in local}[stats] == "DELETION_IN_PROGRESS"
    _sild("central", "registration", "decline", central, str(submitted("clientDeletion")), "--comment", "still used")
    assert stats in gateways()[GATEWAY]["clients"]  # declined: nothing changed

    bad = _sild("gateway", "address", gdir, "gw1 .example", "--authority", url, ok=False)
    assert "is not HOST or HOST:PORT" in bad.stderr
    _sild("gateway", "address", gdir, "gw1.population.ee:5500", "--authority", url)
    _sild("central", "registration", "approve", central, str(submitted("addressChange")))
    assert gateways()[GATEWAY]["address"] == "gw1.population.ee:5500"

    _sild("gateway", "owner", "change", gdir, BANK, "--authority", url)
    approved = _sild("central", "registration", "approve", central, str(submitted("ownerChange")))
    assert f"now owned by {BANK}" in approved.stdout
    assert GATEWAY not in gateways() and gateways()[BANK + "/gw1"]["address"] == "gw1.population.ee:5500"
    # the gateway takes on its new identity from the published configuration; the former owner keeps its key
    _until(lambda: _sild("gateway", "owner", "apply", gdir).stdout, f"this gateway is now {BANK}/gw1")
    assert json.loads((Path(gdir) / "gateway.json").read_text())["server"] == BANK + "/gw1"
    assert json.loads((Path(gdir) / "sign-keys.json").read_text())["sign"] == "EE/GOV/70000002"
    assert "already" in _sild("gateway", "owner", "apply", gdir).stdout
    # the running node serves as the new owner without a restart (its identity, as its admin API reports it)
    gw = next(g for g in sandbox["gateways"] if g["id"] == GATEWAY)
    admin = httpx.Client(base_url=gw["admin_url"], verify=ssl.create_default_context(cafile=gw["admin_cert_file"]),
                         timeout=60, trust_env=False,
                         headers={"X-API-Key": Path(gw["admin_key_file"]).read_text().strip()})
    _until(lambda: str(admin.get("/api/v1/status").json()["security_server"]), f"{BANK}/gw1", timeout=30)
    again = admin.post("/api/v1/owner-change/apply")
    assert again.status_code == 200 and again.json() == {"server": f"{BANK}/gw1", "changed": False}
    # and signs its next request as the new owner
    _sild("gateway", "address", gdir, "gw1.bank.ee:5500", "--authority", url)
    assert submitted("addressChange")


def _until(read: Callable[[], str], expected: str, timeout: float = 90.0) -> str:
    """Call ``read`` until its text holds ``expected`` (the authority publishes within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        text = read()
        if expected in text:
            return text
        assert time.monotonic() < deadline, text
        time.sleep(2)


def test_the_running_gateways_admin_api_sends_the_same_requests(sandbox: Any) -> None:
    """The other EE gateway's HTTPS admin API (its running node, its key registry) sends clientReg and
    addressChange; the officer sees and approves them; a duplicate is refused with the authority's 409."""
    import ssl

    server = "EE/GOV/70000001/gw1"
    gw = next(g for g in sandbox["gateways"] if g["id"] == server)
    ee = sandbox["instances"]["EE"]
    central, url = ee["central_dir"], ee["central_url"]
    admin = httpx.Client(base_url=gw["admin_url"], verify=ssl.create_default_context(cafile=gw["admin_cert_file"]),
                         headers={"X-API-Key": Path(gw["admin_key_file"]).read_text().strip()}, timeout=120,
                         trust_env=False)

    def submitted(kind: str) -> int:
        listed = json.loads(_sild("central", "registration", "list", central, "--status", "submitted").stdout)
        return int(next(r["id"] for r in listed if r["type"] == kind and r["server"].endswith(server)))

    client = "EE/GOV/70000001/archive"
    sent = admin.post("/api/v1/clients/EE:GOV:70000001:archive/registration", json={"authority": url})
    assert sent.status_code == 202, sent.text
    assert sent.json()["state"] == "REGISTRATION_IN_PROGRESS" and sent.json()["request"]["id"]
    again = admin.post("/api/v1/clients/EE:GOV:70000001:archive/registration", json={"authority": url})
    assert again.status_code == 409 and "still waiting" in again.json()["message"], again.text
    _sild("central", "registration", "approve", central, str(submitted("clientReg")))

    moved = admin.post("/api/v1/address-change", json={"address": "gw1.tax.ee:5500", "authority": url})
    assert moved.status_code == 202, moved.text
    approved = _sild("central", "registration", "approve", central, str(submitted("addressChange")))
    assert approved.returncode == 0
    officer = json.loads(_sild("central", "registration", "list", central, "--status", "approved").stdout)
    assert {r["type"] for r in officer if r["server"].endswith(server)} >= {"clientReg", "addressChange"}

    def synced() -> str:
        answer = admin.post("/api/v1/clients/sync")
        assert answer.status_code == 200, answer.text
        return json.dumps(answer.json()["clients"])

    assert '"registered"' in _until(synced, f'"client": "{client}", "outcome": "registered"')
    states = {c["id"]: c["state"] for c in admin.get("/api/v1/clients").json()["clients"]}
    assert states.get(client) == "REGISTERED", states

    # the gateway's own registration request through the same API (what `gateway register` sends)
    own = admin.post("/api/v1/registration", json={"authority": url})
    assert own.status_code == 202, own.text
    request = own.json()["request"]
    assert (request["type"], request["status"], request["server"]) == ("authCertReg", "submitted", server)
    assert submitted("authCertReg") == request["id"]  # the officer sees it, signed and checked by the authority
