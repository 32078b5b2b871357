"""The authority's operations of issue 17 through the management API of a running ``sild central serve``.

One authority per module: made with ``sild central init``, an API key made with
``sild central apikey create``, then ``sild central serve`` as its own process with
the management API on a port of its own over HTTPS (the generated certificate in
``DIR/api-tls/``, trusted by pinning). Each change is checked where it matters: in
the configuration the running node signs and publishes on its distribution port
(downloaded and verified against the anchor the API hands out), in the backup it
writes (restored as a drill by the CLI), and in its audit log under the key's name.
The refusals and roles are covered in-process by ``tests/federation/central/test_api.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from federation.anchor import parse_anchor
from federation.directory import verify_directory
from federation.model import SharedParameters
from trust.pki import pinned_client_context

from tests.federation.central.central_support import PROJECT_ROOT, CentralProcess, free_port, sild, sild_env, wait_for
from tests.support import pki

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

NOW = dt.datetime.now(dt.timezone.utc)


@dataclass
class Authority:
    directory: Path
    process: CentralProcess
    api: httpx.Client
    key_name: str

    def published(self, certs: Any = None) -> SharedParameters:
        """The shared parameters the running node publishes now, verified as a gateway verifies them
        (against the internal anchor the API hands out, or only against ``certs``)."""
        anchor = certs if certs is not None else parse_anchor(self.api.get("/api/v1/anchors/internal").content)
        plain = self.process.url
        data = httpx.get(plain + "/internalconf?version=6", timeout=30, trust_env=False).content
        verified = verify_directory(data, anchor, at=dt.datetime.now(dt.timezone.utc),
                                    fetch_part=lambda loc: httpx.get(plain + "/" + loc.lstrip("/"), timeout=30,
                                                                     trust_env=False).content)
        assert verified.shared_parameters is not None
        return verified.shared_parameters

    def serial(self) -> int:
        return int(self.api.get("/api/v1/diagnostics").json()["published"]["serial"])

    def changed(self, call: httpx.Response, status: int = 200) -> httpx.Response:
        """``call`` answered ``status``; then wait until the running node has published the change."""
        assert call.status_code == status, call.text
        target = int(self.api.get("/api/v1/diagnostics").json()["registry"]["serial"])
        wait_for(lambda: self.serial() >= target, timeout=60, what="the running node's regeneration")
        return call


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authority]:
    directory = tmp_path_factory.mktemp("central") / "ee"
    port, api_port = free_port(), free_port()
    sild("central", "init", str(directory), "--instance", "EE", "--url", f"http://127.0.0.1:{port}")
    made = sild("central", "apikey", "create", str(directory), "--name", "live-officer", "--role", "system-admin")
    secret = made.stdout.strip().split()[-1]
    process = CentralProcess(directory, port, api_port=api_port).wait_ready()
    try:
        assert process.api_url is not None
        api = httpx.Client(base_url=process.api_url, verify=pinned_client_context(directory / "api-tls" / "api.crt"),
                           headers={"X-API-Key": secret}, timeout=60, trust_env=False)
        wait_for(lambda: _answers(api), timeout=60, what="the management port")
        yield Authority(directory, process, api, "live-officer")
    finally:
        process.stop()


def _answers(api: httpx.Client) -> bool:
    try:
        return api.get("/api/v1/status").status_code == 200
    except httpx.HTTPError:
        return False


def _names(shared: SharedParameters) -> dict[str, str]:
    return {m.member_code: m.name for m in shared.members}


def test_members_subsystems_renames_and_removals_reach_the_published_configuration(authority: Authority) -> None:
    api = authority.api
    authority.changed(api.post("/api/v1/members", json={"id": "EE/GOV/70000001", "name": "Tax Board"}), 201)
    authority.changed(api.post("/api/v1/subsystems", json={"id": "EE/GOV/70000001/tax"}), 201)
    authority.changed(api.post("/api/v1/subsystems", json={"id": "EE/GOV/70000001/old"}), 201)
    shared = authority.published()
    assert _names(shared)["70000001"] == "Tax Board"
    tax = next(m for m in shared.members if m.member_code == "70000001")
    assert {s.code for s in tax.subsystems} == {"tax", "old"}

    authority.changed(api.patch("/api/v1/members/EE/GOV/70000001", json={"name": "Tax and Customs Board"}))
    authority.changed(api.delete("/api/v1/subsystems/EE/GOV/70000001/old"))
    shared = authority.published()
    assert _names(shared)["70000001"] == "Tax and Customs Board"
    assert {s.code for s in next(m for m in shared.members if m.member_code == "70000001").subsystems} == {"tax"}
    missing = api.delete("/api/v1/subsystems/EE/GOV/70000001/old")
    assert missing.status_code == 404 and missing.json()["code"]


def test_global_groups_and_their_members(authority: Authority) -> None:
    api = authority.api
    authority.changed(api.post("/api/v1/global-groups", json={"code": "readers", "description": "Readers"}), 201)
    authority.changed(api.post("/api/v1/global-groups/readers/members", json={"client": "EE/GOV/70000001/tax"}), 201)
    groups = {g.code: g for g in authority.published().global_groups}
    assert [m.to_text() for m in groups["readers"].members] == ["EE/GOV/70000001/tax"]
    authority.changed(api.delete("/api/v1/global-groups/readers/members/EE/GOV/70000001/tax"))
    assert [g.members for g in authority.published().global_groups if g.code == "readers"] == [()]
    authority.changed(api.delete("/api/v1/global-groups/readers"))
    assert "readers" not in {g.code for g in authority.published().global_groups}


def test_a_tsa_added_and_removed(authority: Authority) -> None:
    api = authority.api
    key = pki.new_key()
    cert = pki.self_signed(key, pki.name(CN="Live TSA"), not_before=NOW - dt.timedelta(days=1),
                           not_after=NOW + dt.timedelta(days=30))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    authority.changed(api.post("/api/v1/tsas", json={"name": "live", "url": "http://127.0.0.1:9/tsa",
                                                     "certificate": pem}), 201)
    assert [t.url for t in authority.published().approved_tsas] == ["http://127.0.0.1:9/tsa"]
    authority.changed(api.delete("/api/v1/tsas/live"))
    assert authority.published().approved_tsas == ()


def test_settings_monitoring_client_and_diagnostics(authority: Authority) -> None:
    api = authority.api
    changed = authority.changed(api.patch("/api/v1/settings", json={"ocspFreshnessSeconds": 1200}))
    assert changed.json()["ocspFreshnessSeconds"] == "1200"
    assert authority.published().ocsp_freshness_seconds == 1200
    put = api.put("/api/v1/monitoring-client", json={"monitoringClientId": "EE/GOV/70000001/tax"})
    assert put.status_code == 200, put.text
    assert api.get("/api/v1/monitoring-client").json() == {"monitoringClientId": "EE/GOV/70000001/tax"}
    authority.changed(api.delete("/api/v1/monitoring-client"))
    report = api.get("/api/v1/diagnostics").json()
    assert report["health"]["code"] == "ok"
    assert report["published"]["serial"] == report["registry"]["serial"]  # the running node is up to date


def test_signing_key_rotation(authority: Authority) -> None:
    """A new internal signing key: the anchor names it at once, and once activated the node signs with it."""
    api = authority.api

    def anchor_certs() -> set[bytes]:
        return set(parse_anchor(api.get("/api/v1/anchors/internal").content).verification_certs())

    before = anchor_certs()
    made = api.post("/api/v1/signing-keys", json={"kind": "internal"})
    assert made.status_code == 201, made.text
    new = anchor_certs() - before
    assert len(new) == 1  # the anchor to hand to every gateway operator names the new key before it signs
    with pytest.raises(Exception, match="does not list"):
        authority.published(certs=new)  # still signed with the former key
    key_id = made.json()["id"]
    assert {k["id"]: k["status"] for k in api.get("/api/v1/signing-keys").json()}[key_id] == "pending"
    assert api.post(f"/api/v1/signing-keys/{key_id}/activate").status_code == 200
    wait_for(lambda: _verifies(authority, new), timeout=60, what="configuration signed with the new key")
    refused = api.delete(f"/api/v1/signing-keys/{key_id}")
    assert refused.status_code == 409 and refused.json()["code"] == "federation.registry.in_use"
    retired = [k["id"] for k in api.get("/api/v1/signing-keys").json() if k["status"] == "retired"]
    assert len(retired) == 1
    authority.changed(api.delete(f"/api/v1/signing-keys/{retired[0]}"))
    assert anchor_certs() == new  # the former key left the anchor and the published sources
    assert retired[0] not in json.dumps(api.get("/api/v1/signing-keys").json())


def _verifies(authority: Authority, certs: set[bytes]) -> bool:
    try:
        authority.published(certs=certs)
    except Exception:  # noqa: BLE001 - not regenerated yet: signed with the former key
        return False
    return True


def test_backup_restores_as_a_drill_and_the_audit_names_the_key(authority: Authority, tmp_path: Path) -> None:
    api = authority.api
    backup = api.post("/api/v1/backup", json={"passphrase": "live-central-passphrase"})
    assert backup.status_code == 200 and len(backup.content) > 1000, backup.text[:300]
    (tmp_path / "ee.bak").write_bytes(backup.content)
    drill = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()", "central", "restore",
                            str(tmp_path / "drill"), str(tmp_path / "ee.bak"), "--drill", "--passphrase-env", "LIVE_PASS"],
                           cwd=PROJECT_ROOT, env={**sild_env(), "LIVE_PASS": "live-central-passphrase"},
                           capture_output=True, text=True, timeout=240, check=False)
    assert drill.returncode == 0, drill.stderr
    assert "restore drill" in drill.stdout and "EE" in drill.stdout
    assert api.post("/api/v1/restore").status_code == 409

    entries = api.get("/api/v1/audit", params={"limit": 500}).json()["entries"]
    ours = [e for e in entries if e["actor"] == authority.key_name]
    operations = {e["operation"] for e in ours}
    assert {"POST /api/v1/members", "PATCH /api/v1/members/EE/GOV/70000001", "DELETE /api/v1/tsas/live",
            "PATCH /api/v1/settings", "POST /api/v1/backup"} <= operations
    assert all(e["source"] == "127.0.0.1" for e in ours)
    text = json.dumps(ours)
    assert "live-central-passphrase" not in text and "[redacted]" in text
    assert any(e["operation"].startswith("central apikey create") for e in entries)  # the CLI's own entry


def test_a_gateway_in_maintenance_is_published_so(authority: Authority) -> None:
    """X-Road's maintenance mode: set on the authority, carried by the configuration every gateway downloads."""
    api = authority.api
    member = api.post("/api/v1/members", json={"id": "EE/COM/10000003", "name": "Bank"})
    assert member.status_code in (201, 409), member.text
    authority.changed(api.post("/api/v1/gateways", json={"id": "EE/COM/10000003/gw1", "address": "127.0.0.1:5500"}),
                      201)
    authority.changed(api.put("/api/v1/gateways/EE/COM/10000003/gw1/maintenance",
                              json={"enabled": True, "message": "disk swap"}))
    (gw,) = [s for s in authority.published().security_servers if s.server_code == "gw1"]
    assert gw.in_maintenance is True
    authority.changed(api.put("/api/v1/gateways/EE/COM/10000003/gw1/maintenance", json={"enabled": False}))
    assert [s.in_maintenance for s in authority.published().security_servers] == [False]
    authority.changed(api.delete("/api/v1/gateways/EE/COM/10000003/gw1"))
