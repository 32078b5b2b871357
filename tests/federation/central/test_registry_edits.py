"""Removing subsystems, TSAs, global groups and their members, renaming members (issue 17).

Through the real ``sild central`` commands and through the management API; the
refusals name what would break, and the next generated configuration, read back
from the published directory, no longer holds what was removed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, init_central
from federation.model import SharedParameters
from gateway.cli import _main as sild_cli
from trust.protocol import MemberId

from tests.federation.central.central_support import published_shared
from tests.support import pki

PIN = "test-pin"
TAX = MemberId("EE", "GOV", "70000001")
BANK = MemberId("EE", "GOV", "70000002")


def _cert_pem(now: dt.datetime) -> bytes:
    from cryptography.hazmat.primitives import serialization

    cert = pki.self_signed(pki.new_key(), pki.name(CN="TSA"), not_before=now - dt.timedelta(days=1),
                           not_after=now + dt.timedelta(days=30))
    return cert.public_bytes(serialization.Encoding.PEM)


def _published(directory: Path, now: dt.datetime) -> SharedParameters:
    home = CentralDir(directory)
    try:
        return published_shared(home, now)
    finally:
        home.close()


@pytest.fixture
def authority(tmp_path: Path) -> Path:
    """An authority with two members, a served subsystem in a group, a second group and a TSA."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=now)
    home = CentralDir(directory)
    registry = home.registry()
    registry.add_member(TAX, "Tax Board")
    registry.add_member(BANK, "Bank")
    registry.add_subsystem(TAX.subsystem("tax"), "Tax data")
    registry.add_subsystem(TAX.subsystem("spare"))
    registry.add_gateway(TAX.server("ss1"), address="ss1.ee", clients=[TAX.subsystem("tax")])
    registry.add_global_group("readers", "Readers")
    registry.add_group_member("readers", TAX.subsystem("tax"))
    registry.add_group_member("readers", BANK)
    registry.add_global_group("old", "Old group")
    registry.add_tsa("EE TSA", "http://127.0.0.1:9/tsa", _cert_pem(now))
    home.close()
    return directory


def test_cli_removes_and_renames_and_the_configuration_follows(authority: Path, tmp_path: Path) -> None:
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(sild_cli.cli, ["central", *args], env={"SILD_TOKEN_PIN": PIN}, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    d = str(authority)
    before = _published(authority, dt.datetime.now(dt.timezone.utc))
    assert TAX.subsystem("tax") in before.client_ids() and [t.name for t in before.approved_tsas] == ["EE TSA"]

    refused = run("subsystem", "remove", d, "--subsystem", "EE/GOV/70000001/tax", ok=False)
    assert "gateway EE/GOV/70000001/ss1" in refused and "global group readers" in refused
    assert "--force" in refused and "federation.registry.in_use" in refused
    run("subsystem", "remove", d, "--subsystem", "EE/GOV/70000001/spare")  # nobody uses it: no force needed
    assert "subsystem EE/GOV/70000001/tax removed" in run("subsystem", "remove", d, "--subsystem",
                                                           "EE/GOV/70000001/tax", "--force")
    assert "not in global group readers" in run("group", "remove-member", d, "--code", "readers",
                                                 "--client", "EE/GOV/70000001", ok=False)
    run("group", "remove-member", d, "--code", "readers", "--client", "EE/GOV/70000002")
    run("group", "remove", d, "--code", "old")
    assert "built in" in run("group", "remove", d, "--code", "security-server-owners", ok=False)
    run("tsa", "remove", d, "--name", "EE TSA")
    assert "unknown approved TSA" in run("tsa", "remove", d, "--name", "EE TSA", ok=False)
    run("member", "rename", d, "--member", "EE/GOV/70000002", "--name", "  Bank of Estonia ")
    assert "needs a name" in run("member", "rename", d, "--member", "EE/GOV/70000002", "--name", " ", ok=False)

    after = _published(authority, dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1))
    assert TAX.subsystem("tax") not in after.client_ids() and TAX.subsystem("spare") not in after.client_ids()
    assert after.approved_tsas == ()
    groups = {g.code: g for g in after.global_groups}
    assert "old" not in groups and groups["readers"].members == ()
    assert after.member_name(BANK) == "Bank of Estonia"
    ss1 = next(s for s in after.security_servers if s.server_code == "ss1")
    assert ss1.clients == ()  # --force removed the gateway's client registration with it


def test_api_removes_and_renames_with_roles_and_specific_refusals(authority: Path) -> None:
    app = create_app(CentralAppConfig(directory=authority))
    registry = CentralDir(authority).registry()
    reg = {"X-API-Key": registry.create_api_key("reg", ["registration-officer"])}
    sec = {"X-API-Key": registry.create_api_key("sec", ["security-officer"])}
    client = app.test_client()

    refused = client.delete("/api/v1/subsystems/EE/GOV/70000001/tax", headers=reg)
    assert (refused.status_code, refused.json["code"]) == (409, "federation.registry.in_use")
    assert "gateway EE/GOV/70000001/ss1" in refused.json["message"]
    assert client.delete("/api/v1/subsystems/EE/GOV/70000001/tax?force=maybe", headers=reg).json["code"] == \
        "api.invalid_field"
    assert client.delete("/api/v1/subsystems/EE/GOV/70000001", headers=reg).json["code"] == "api.invalid_identifier"
    assert client.delete("/api/v1/subsystems/EE/GOV/70000001/tax?force=true", headers=sec).status_code == 403
    assert client.delete("/api/v1/subsystems/EE/GOV/70000001/tax?force=true", headers=reg).status_code == 200
    assert client.delete("/api/v1/subsystems/EE/GOV/70000001/tax", headers=reg).json["code"] == \
        "federation.registry.unknown_subsystem"

    gone = client.delete("/api/v1/global-groups/readers/members/EE/GOV/70000001", headers=reg)
    assert (gone.status_code, gone.json["code"]) == (404, "federation.registry.not_in_group")
    assert client.delete("/api/v1/global-groups/readers/members/EE/GOV/70000002", headers=reg).status_code == 200
    assert client.delete("/api/v1/global-groups/security-server-owners", headers=reg).status_code == 409
    assert client.delete("/api/v1/global-groups/old", headers=reg).status_code == 200
    assert client.delete("/api/v1/global-groups/old", headers=reg).json["code"] == "federation.registry.unknown_group"

    assert client.delete("/api/v1/tsas/EE%20TSA", headers=reg).status_code == 403  # a security officer's task
    assert client.delete("/api/v1/tsas/EE%20TSA", headers=sec).status_code == 200
    assert client.get("/api/v1/tsas", headers=sec).json == []

    renamed = client.patch("/api/v1/members/EE/GOV/70000002", json={"name": "Bank of Estonia"}, headers=reg)
    assert renamed.status_code == 200
    assert client.patch("/api/v1/members/EE/GOV/70000002", json={}, headers=reg).json["code"] == "api.missing_field"
    assert client.patch("/api/v1/members/EE/GOV/9", json={"name": "x"}, headers=reg).status_code == 404
    names = {m["id"]: m["name"] for m in client.get("/api/v1/members", headers=reg).json}
    assert names["EE/GOV/70000002"] == "Bank of Estonia"
    groups = {g["code"]: g["members"] for g in client.get("/api/v1/global-groups", headers=reg).json}
    assert "old" not in groups and groups["readers"] == []
    registry.close()
