"""Gateway set-up: directory, keys in the token, CSRs signed through the Signer, certificate import."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gateway.cli._main import cli, _register
from gateway.provision import add_member, import_certificate, init_gateway, sign_keys
from gateway.settings import NodeSettings, SetupError
from trust.services import CertificateAuthority
from trust.protocol import MemberId, parse_server
from trust.keys import KeyType

PIN = "1234"
# C=DEV is not two letters: X-Road's EJBCA profile puts the instance code there and never checked
pytestmark = pytest.mark.filterwarnings("ignore:Attribute's length:UserWarning")


@pytest.fixture
def anchor(xroad):
    return xroad / "globalconf" / "anchors" / "configuration_anchor_CS_internal.xml"


def _csr(path):
    csr = x509.load_pem_x509_csr(path.read_bytes())
    assert csr.is_signature_valid
    return csr


def test_init_makes_keys_and_valid_csrs(tmp_path, anchor):
    gdir = tmp_path / "gw"
    settings = init_gateway(gdir, anchor=anchor, server="DEV/GOV/1234/gw1", pin=PIN, key_type=KeyType.EC_P256)
    assert settings.instance == "DEV" and NodeSettings.load(gdir) == settings
    assert (gdir / "anchor.xml").read_bytes() == anchor.read_bytes()
    auth = _csr(gdir / "csr" / "auth.csr.pem")
    sign = _csr(gdir / "csr" / "sign.csr.pem")
    assert auth.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "DEV/gw1/GOV"
    assert sign.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "1234"
    assert auth.public_key() != sign.public_key()
    assert oct((gdir / "gateway.json").stat().st_mode)[-3:] == "600"
    with pytest.raises(SetupError):
        init_gateway(gdir, anchor=anchor, server="DEV/GOV/1234/gw1", pin=PIN)


@pytest.mark.parametrize("server", ["EE/GOV/1234/gw1", "DEV/GOV/1234", "not an id"])
def test_init_refuses_bad_servers(tmp_path, anchor, server):
    with pytest.raises(SetupError):
        init_gateway(tmp_path / "gw", anchor=anchor, server=server, pin=PIN)


def test_init_refuses_a_non_anchor(tmp_path):
    bogus = tmp_path / "anchor.xml"
    bogus.write_bytes(b"<notAnAnchor/>")
    with pytest.raises(SetupError):
        init_gateway(tmp_path / "gw", anchor=bogus, server="DEV/GOV/1234/gw1", pin=PIN)


def test_import_issued_certificates_and_other_members(tmp_path, now):
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000002/gw1", pin=PIN, key_type=KeyType.EC_P256)
    ca = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin=PIN, now=now, key_type=KeyType.EC_P256)
    try:
        sid = parse_server("EE/GOV/70000002/gw1")
        auth = ca.issue_auth(sid, now=now, csr=(gdir / "csr" / "auth.csr.pem").read_bytes())
        pem = auth.cert.public_bytes(serialization.Encoding.PEM)
        assert import_certificate(gdir, pem + ca.chain_pem, pin=PIN) == "auth"
        assert (gdir / "certs" / "auth.pem").read_bytes().startswith(pem)
        bank = MemberId("EE", "COM", "10000003")
        csr_path = add_member(gdir, bank, pin=PIN)
        assert _csr(csr_path).subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "COM"
        keys = sign_keys(gdir)
        assert keys["sign"] == sid.owner and bank in keys.values()
        issued = ca.issue_sign(bank, now=now, csr=csr_path.read_bytes())
        key_id = import_certificate(gdir, issued.cert.public_bytes(serialization.Encoding.PEM), pin=PIN)
        assert keys[key_id] == bank
        foreign = ca.issue_sign(sid.owner, now=now, key_type=KeyType.EC_P256)  # the CA made its own key
        with pytest.raises(SetupError):
            import_certificate(gdir, foreign.cert.public_bytes(serialization.Encoding.PEM), pin=PIN)
        with pytest.raises(SetupError):
            add_member(gdir, MemberId("FI", "GOV", "1"), pin=PIN)
    finally:
        ca.close()


def test_cli_init_and_status(tmp_path, anchor, monkeypatch):
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    _register()
    runner = CliRunner()
    gdir = tmp_path / "gw"
    result = runner.invoke(cli, ["gateway", "init", str(gdir), "--anchor", str(anchor), "--server", "DEV/GOV/1234/gw1",
                                 "--key-type", "ec-p256", "--allow-federation", "EE"])
    assert result.exit_code == 0, result.output
    assert "SHA-224" in result.output and "auth.csr.pem" in result.output
    assert NodeSettings.load(gdir).allowed_federations == ("EE",)
    status = runner.invoke(cli, ["gateway", "status", str(gdir), "--json"])
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["registration"] == "not registered" and data["server"] == "DEV/GOV/1234/gw1"
    again = runner.invoke(cli, ["gateway", "init", str(gdir), "--anchor", str(anchor), "--server", "DEV/GOV/1234/gw1"])
    assert again.exit_code == 1 and "already holds a gateway" in again.output


def test_import_der_certificate_even_when_it_ends_in_a_whitespace_byte(tmp_path, now):
    """DER is parsed as DER: a certificate whose last byte is 0x0a or 0x20 is not stripped."""
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000002/gw1", pin=PIN, key_type=KeyType.EC_P256)
    ca = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin=PIN, now=now, key_type=KeyType.EC_P256)
    try:
        sid = parse_server("EE/GOV/70000002/gw1")
        for _ in range(200):  # ECDSA signatures vary: issue until the DER ends in a white-space byte
            cert = ca.issue_auth(sid, now=now, csr=(gdir / "csr" / "auth.csr.pem").read_bytes()).cert
            der = cert.public_bytes(serialization.Encoding.DER)
            if der[-1:] in (b"\n", b" ", b"\t", b"\r", b"\x0b", b"\x0c"):
                break
        else:
            pytest.skip("no certificate ending in a white-space byte in 200 issuances")
        assert import_certificate(gdir, der, pin=PIN) == "auth"
    finally:
        ca.close()
