"""``sild central`` commands, run in-process through the real ``sild`` click group."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization

from federation.model import SharedParameters
from federation.central import verify_registration_request
from federation.central.registry import CentralDir
from federation.central.registry import store_request
from gateway.cli import _main as sild_cli
from trust.protocol import MemberId

from tests.federation.central.central_support import PIN, GatewayPki

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # the CLI signs with the wall clock
TAX = MemberId("EE", "GOV", "70000001")


@pytest.fixture(scope="module")
def run() -> object:
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> tuple[int, str]:
        result = runner.invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result.exit_code, result.output

    return invoke


def test_operator_workflow(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = str(tmp_path / "ee")
    run("central", "init", d, "--instance", "EE", "--url", "http://127.0.0.1:4000", "--member-class", "GOV=Government")
    code, out = run("central", "member", "add", d, "--member", "EE/COM/1", "--name", "x", ok=False)
    assert code == 1 and "unknown member class 'COM'" in out and "federation.registry.unknown_member_class" in out
    run("central", "member", "add", d, "--member", TAX.to_text(), "--name", "Tax Board")
    code, out = run("central", "member", "add", d, "--member", TAX.to_text(), "--name", "Tax Board", ok=False)
    assert code == 1 and "federation.registry.duplicate_member" in out
    code, out = run("central", "member", "add", d, "--member", "EE/GOV", "--name", "x", ok=False)
    assert code == 1 and "sild: error:" in out
    run("central", "subsystem", "add", d, "--subsystem", "EE/GOV/70000001/tax", "--name", "Tax data")

    pki = GatewayPki(tmp_path / "pki", "EE", NOW)
    try:
        ca_pem = tmp_path / "ca.pem"
        ca_pem.write_bytes(pki.ca.root_cert.public_bytes(serialization.Encoding.PEM))
        ocsp_der = tmp_path / "ocsp.der"
        ocsp_der.write_bytes(pki.der(pki.ca.ocsp_cert))
        run("central", "ca", "add", d, "--name", "EE CA", "--cert", str(ca_pem), "--ocsp-url", "http://127.0.0.1:9/ocsp",
            "--ocsp-cert", str(ocsp_der), "--profile", "ee.ria.xroad.common.certificateprofile.impl.EjbcaCertificateProfileInfoProvider")
        run("central", "tsa", "add", d, "--name", "EE TSA", "--url", "http://127.0.0.1:9/tsa", "--cert", str(ocsp_der))
        _, auth = pki.auth_cert(TAX.server("ss1"))
        auth_file = tmp_path / "auth.der"
        auth_file.write_bytes(pki.der(auth))
        run("central", "gateway", "add", d, "--server", "EE/GOV/70000001/ss1", "--address", "ss1.ee",
            "--auth-cert", str(auth_file), "--client", "EE/GOV/70000001/tax")
        _, out = run("central", "gateway", "list", d)
        assert json.loads(out)[0]["clients"] == ["EE/GOV/70000001/tax"]

        # auth certificate rotation: the renewed one is added, the old one removed
        _, renewed = pki.auth_cert(TAX.server("ss1"))
        renewed_file = tmp_path / "auth-renewed.der"
        renewed_file.write_bytes(pki.der(renewed))
        run("central", "gateway", "add-auth-cert", d, "--server", "EE/GOV/70000001/ss1", "--cert", str(renewed_file))
        hashes = _auth_hashes(run, d)
        assert len(hashes) == 2
        run("central", "gateway", "remove-auth-cert", d, "--server", "EE/GOV/70000001/ss1", "--cert", str(auth_file))
        assert _auth_hashes(run, d) == [h for h in hashes if h != _sha256(auth)] and len(_auth_hashes(run, d)) == 1
        code, out = run("central", "gateway", "remove-auth-cert", d, "--server", "EE/GOV/70000001/ss1",
                        "--cert", str(auth_file), ok=False)
        assert code == 1 and "has no auth certificate" in out
        code, out = run("central", "gateway", "remove-auth-cert", d, "--server", "EE/GOV/70000001/ss1", ok=False)
        assert code == 1 and "exactly one of --sha256 and --cert" in out

        # registration requests (as the API stores them), decided from the shell
        home = CentralDir(d)
        trust_policy = SharedParameters("EE", approved_cas=home.registry().snapshot().approved_cas).to_trust_policy()
        for code_ in ("ss2", "ss3"):
            document, _ = pki.request(TAX.server(code_), created_at=dt.datetime.now(dt.timezone.utc))
            store_request(home.registry(), verify_registration_request(document, trust_policy, at=dt.datetime.now(dt.timezone.utc)))
        home.close()
        _, out = run("central", "registration", "list", d, "--status", "submitted")
        ids = [r["id"] for r in json.loads(out)]
        assert len(ids) == 2
        run("central", "registration", "approve", d, str(ids[0]))
        run("central", "registration", "decline", d, str(ids[1]), "--comment", "duplicate")
        code, out = run("central", "registration", "approve", d, str(ids[1]), ok=False)
        assert code == 1 and "already declined" in out
        _, out = run("central", "gateway", "list", d)
        assert sorted(g["serverCode"] for g in json.loads(out)) == ["ss1", "ss2"]
    finally:
        pki.close()

    run("central", "settings", "set", d, "confExpireIntervalSeconds", "1200")
    code, out = run("central", "settings", "set", d, "confExpireIntervalSeconds", "5", ok=False)
    assert code == 1 and "at least 30" in out
    _, key = run("central", "apikey", "create", d, "--name", "ops", "--role", "security-officer")
    assert key.strip().startswith("sild_")
    _, out = run("central", "key", "create", d, "--kind", "external")
    new_key = out.strip()
    _, out = run("central", "key", "list", d)
    assert f"{new_key}\texternal\tpending" in out
    _, out = run("central", "generate", d)
    assert out.startswith("published")
    anchor = tmp_path / "ext.xml"
    _, out = run("central", "anchor", d, "--external", "--out", str(anchor))
    assert "SHA-224 fingerprint:" in out and anchor.read_bytes().count(b"<verificationCert>") == 2
    run("central", "key", "activate", d, new_key)
    code, out = run("central", "anchor", d, "--out", str(anchor), ok=False)
    assert code == 1 and "--internal or --external" in out


def _sha256(cert) -> str:  # type: ignore[no-untyped-def]
    return cert.fingerprint(hashes.SHA256()).hex()


def _auth_hashes(run, directory: str) -> list[str]:  # type: ignore[no-untyped-def]
    _, out = run("central", "gateway", "list", directory)
    gateway = json.loads(out)[0]
    return sorted(str(h).lower() for h in gateway["authCertHashes"])


def test_every_command_is_reachable_under_sild_central() -> None:
    """The commands live in several modules (_cli, _cli_registry); ``sild central`` offers them all."""
    import click

    from federation.central._cli import central_group

    def tree(group: click.Group) -> dict[str, object]:
        return {name: tree(cmd) if isinstance(cmd, click.Group) else None for name, cmd in group.commands.items()}

    assert tree(central_group) == {
        "init": None, "node-init": None, "serve": None, "generate": None, "status": None, "anchor": None,
        "member-class": {"add": None, "list": None},
        "member": {"add": None, "remove": None, "list": None, "rename": None},
        "subsystem": {"add": None, "remove": None},
        "gateway": {"add": None, "remove": None, "add-auth-cert": None, "remove-auth-cert": None,
                    "maintenance": None, "list": None},
        "group": {"add": None, "add-member": None, "remove": None, "remove-member": None},
        "ca": {"add": None, "list": None, "remove": None},
        "tsa": {"add": None, "list": None, "remove": None},
        "settings": {"set": None, "list": None},
        "registration": {"list": None, "approve": None, "decline": None},
        "apikey": {"create": None, "list": None, "revoke": None},
        "trust-anchor": {"add": None, "list": None, "remove": None},
        "key": {"create": None, "activate": None, "remove": None, "list": None},
        "monitoring-client": {"set": None, "clear": None, "show": None},
        "backup": None, "restore": None, "audit": None,
        "user": {"add": None, "list": None, "remove": None, "passwd": None},
    }


def test_member_classes_and_global_groups_are_added_by_code(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = str(tmp_path / "ee")
    run("central", "init", d, "--instance", "EE", "--url", "http://127.0.0.1:4000", "--member-class", "GOV=Government")
    assert run("central", "member-class", "add", d, "--code", "COM", "--description", "Commercial")[1] == \
        "member class COM added\n"
    assert run("central", "group", "add", d, "--code", "readers")[1] == "global group readers added\n"
    assert "COM\tCommercial" in run("central", "member-class", "list", d)[1]
    code, out = run("central", "group", "add", d, "--code", "readers", ok=False)
    assert code == 1 and "federation.registry.duplicate_name" in out
    for group in ("member-class", "group"):
        assert "--description TEXT" in run("central", group, "add", "--help")[1]
