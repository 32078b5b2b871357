"""``sild gateway token|key|cert`` over a real gateway directory, a real CA and a SoftHSM2 token."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.cli._main import _register, cli
from gateway.provision import init_gateway
from trust.protocol import MemberId
from trust.services import CertificateAuthority

from tests.support.softhsm import SoftHsm, make_token

NOW = dt.datetime.now(dt.timezone.utc)
PIN = "gw-pin"
HOSTED = MemberId("EE", "COM", "20000002")


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


@pytest.fixture
def gateway_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "gw"
    init_gateway(directory, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN)
    return directory


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    return make_token(tmp_path / "hsm", monkeypatch, label="gw1")


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    authority = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin="ca-pin", now=NOW)
    yield authority
    authority.close()


def _ocsp_response(ca: CertificateAuthority, cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509 import ocsp

    from trust.services._bundle import ocsp_responder

    request = ocsp.OCSPRequestBuilder().add_certificate(cert, ca.issuing_cert, hashes.SHA1()).build()
    return ocsp_responder(ca).respond(request.public_bytes(serialization.Encoding.DER), dt.datetime.now(dt.timezone.utc))


def sild(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"SILD_TOKEN_PIN": PIN, **(env or {})}, catch_exceptions=False)


def test_a_sign_key_in_the_hsm_from_generation_to_certificate_and_renewal(gateway_dir: Path, hsm: SoftHsm,
                                                                         ca: CertificateAuthority) -> None:
    d, env = str(gateway_dir), {"SILD_TOKEN_PIN_HSM": hsm.pin}
    listed = sild("gateway", "token", "list", d)
    assert listed.exit_code == 0 and "token soft (soft): logged in, 2 key(s)" in listed.output, listed.output
    added = sild("gateway", "token", "add-pkcs11", d, "hsm", "--library", str(hsm.library), "--label", hsm.label)
    assert added.exit_code == 0 and "$SILD_TOKEN_PIN_HSM" in added.output, added.output
    assert sild("gateway", "token", "login", d, "hsm", env=env).output == "token hsm: PIN accepted\n"

    made = sild("gateway", "key", "generate", d, "--usage", "sign", "--token", "hsm", "--type", "ec-p256",
                "--member", HOSTED.to_text(), "--label", "hosted 2026", env=env)
    assert made.exit_code == 0, made.output
    key_id = made.output.split()[3]
    csr_path = gateway_dir / "csr" / f"{key_id}.csr.pem"
    assert f"certificate request {csr_path}" in made.output
    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    assert csr.is_signature_valid and csr.subject.rfc4514_string() == "CN=20000002,O=COM,C=EE"

    cert = ca.issue_sign(HOSTED, now=NOW, csr=csr_path.read_bytes()).cert
    (gateway_dir / "issued.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem)
    imported = sild("gateway", "cert", "import", d, str(gateway_dir / "issued.pem"), env=env)
    assert imported.exit_code == 0 and f"for key {key_id}: serial {cert.serial_number:x}" in imported.output

    [key] = [k for k in json.loads(sild("gateway", "key", "list", d, "--json", env=env).output) if k["id"] == key_id]
    assert (key["token"], key["usage"], key["algorithm"], key["state"], key["member"], key["label"]) == (
        "hsm", "sign", "ec-p256", "active", "EE/COM/20000002", "hosted 2026")
    assert [(c["serial"], c["ocsp"]) for c in key["certificates"]] == [(f"{cert.serial_number:x}", None)]
    assert "ocsp not fetched yet" in sild("gateway", "key", "list", d, env=env).output

    # the OCSP status is the one the node stored when it fetched the CA's response
    (gateway_dir / "ocsp" / f"{key_id}.ocsp").write_bytes(_ocsp_response(ca, cert))
    [key] = [k for k in json.loads(sild("gateway", "key", "list", d, "--json", env=env).output) if k["id"] == key_id]
    assert key["certificates"][0]["ocsp"]["status"] == "good"
    ca.revoke(cert, at=NOW)
    (gateway_dir / "ocsp" / f"{key_id}.ocsp").write_bytes(_ocsp_response(ca, cert))
    listed = sild("gateway", "token", "list", d, env=env).output
    assert f"serial {cert.serial_number:x}" in listed and "ocsp revoked at" in listed, listed

    renewed = sild("gateway", "key", "renew", d, key_id, env=env)
    assert renewed.exit_code == 0 and "in token hsm" in renewed.output and f"{key_id} stays active" in renewed.output
    new_id = renewed.output.split()[5]
    new_csr = x509.load_pem_x509_csr((gateway_dir / "csr" / f"{new_id}.csr.pem").read_bytes())
    assert new_csr.subject == csr.subject and new_csr.public_key() != csr.public_key()

    assert sild("gateway", "key", "disable", d, key_id, env=env).output == f"key {key_id}: disabled\n"
    refused = sild("gateway", "key", "csr", d, key_id, env=env)
    assert refused.exit_code == 1 and "[trust.key.disabled]" in refused.output
    unconfirmed = sild("gateway", "key", "delete", d, key_id, env=env)
    assert unconfirmed.exit_code == 1 and "--yes" in unconfirmed.output
    assert sild("gateway", "key", "delete", d, key_id, "--yes", env=env).exit_code == 0
    ids = [k["id"] for k in json.loads(sild("gateway", "key", "list", d, "--json", env=env).output)]
    assert key_id not in ids and new_id in ids and "auth" in ids and "sign" in ids


def test_the_cli_refuses_in_one_line(gateway_dir: Path, hsm: SoftHsm) -> None:
    d = str(gateway_dir)
    sild("gateway", "token", "add-pkcs11", d, "hsm", "--library", str(hsm.library), "--label", hsm.label)
    wrong = sild("gateway", "token", "login", d, "hsm", env={"SILD_TOKEN_PIN_HSM": "0000"})
    assert wrong.exit_code == 1 and wrong.output.startswith("sild: error: wrong PIN") and wrong.output.count("\n") == 1
    missing = sild("gateway", "token", "login", d, "hsm")
    assert missing.exit_code == 1 and "set $SILD_TOKEN_PIN_HSM" in missing.output
    logged_out = sild("gateway", "key", "generate", d, "--usage", "sign", "--token", "hsm")
    assert logged_out.exit_code == 1 and "[trust.key.logged_out]" in logged_out.output
    auth = sild("gateway", "key", "generate", d, "--usage", "auth", "--token", "hsm",
                env={"SILD_TOKEN_PIN_HSM": hsm.pin})
    assert auth.exit_code == 1 and "[trust.key.auth_not_on_hsm]" in auth.output
    other = sild("gateway", "key", "generate", d, "--usage", "sign", "--member", "FI/GOV/1")
    assert other.exit_code == 1 and "not a member of instance EE" in other.output


def test_renewing_a_key_made_by_init_keeps_its_member(gateway_dir: Path) -> None:
    """Keys from before the registry: ``sign`` signs for the owner, so its renewal asks for the owner."""
    d = str(gateway_dir)
    renewed = sild("gateway", "key", "renew", d, "sign")
    assert renewed.exit_code == 0, renewed.output
    new_id = renewed.output.split()[5]
    csr = x509.load_pem_x509_csr((gateway_dir / "csr" / f"{new_id}.csr.pem").read_bytes())
    assert csr.subject.rfc4514_string() == "CN=70000001,O=GOV,C=EE"
    [key] = [k for k in json.loads(sild("gateway", "key", "list", d, "--json").output) if k["id"] == new_id]
    assert (key["usage"], key["member"], key["token"], key["algorithm"]) == ("sign", "EE/GOV/70000001", "soft",
                                                                              "rsa2048")
