"""Which key signs each member's messages: the newest active certificate's, and never a disabled key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.provision import generate_key, import_certificate, init_gateway, open_registry, signing_keys
from gateway.settings import SetupError
from trust.keys import KeyState, KeyType, KeyUsage
from trust.protocol import MemberId
from trust.services import CertificateAuthority

from tests.support.softhsm import make_token

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "gw-pin"
OWNER = MemberId("EE", "GOV", "70000001")


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    authority = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin="ca-pin", now=NOW,
                                          key_type=KeyType.EC_P256)
    yield authority
    authority.close()


@pytest.fixture
def gateway_dir(tmp_path: Path, ca: CertificateAuthority) -> Path:
    directory = tmp_path / "gw"
    init_gateway(directory, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256)
    cert = ca.issue_sign(OWNER, now=NOW, csr=(directory / "csr" / "sign.csr.pem").read_bytes()).cert
    import_certificate(directory, cert.public_bytes(serialization.Encoding.PEM), pin=PIN)
    return directory


def test_the_newest_certificate_wins_and_a_disabled_key_never_signs(gateway_dir: Path,
                                                                     ca: CertificateAuthority) -> None:
    registry = open_registry(gateway_dir, PIN)
    assert signing_keys(gateway_dir, registry)[OWNER][0] == "sign"
    key, csr = generate_key(gateway_dir, registry, token="soft", usage=KeyUsage.SIGN, key_type=KeyType.EC_P256)
    assert signing_keys(gateway_dir, registry)[OWNER][0] == "sign"  # no certificate yet
    cert = ca.issue_sign(OWNER, now=NOW + dt.timedelta(days=1), csr=csr.read_bytes()).cert
    imported = registry.import_certificate(cert.public_bytes(serialization.Encoding.PEM))
    key_id, chain = signing_keys(gateway_dir, registry)[OWNER]
    assert (key_id, chain[0]) == (key.key_id, cert)
    registry.set_certificate_state(imported.id, KeyState.DISABLED)
    assert signing_keys(gateway_dir, registry)[OWNER][0] == "sign"
    registry.set_certificate_state(imported.id, KeyState.ACTIVE)
    registry.set_key_state("sign", KeyState.DISABLED)
    registry.set_key_state(key.key_id, KeyState.DISABLED)
    assert OWNER not in signing_keys(gateway_dir, registry)
    registry.set_key_state("sign", KeyState.ACTIVE)
    registry.delete_key("sign")  # its certificate file stays in certs/, the key is gone
    assert OWNER not in signing_keys(gateway_dir, registry)


def test_a_key_in_a_logged_out_token_stops_the_node_at_start(gateway_dir: Path, ca: CertificateAuthority,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hsm = make_token(tmp_path / "hsm", monkeypatch)
    registry = open_registry(gateway_dir, PIN)
    registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    registry.login("hsm", hsm.pin)
    _key, csr = generate_key(gateway_dir, registry, token="hsm", usage=KeyUsage.SIGN, key_type=KeyType.EC_P256)
    cert = ca.issue_sign(OWNER, now=NOW + dt.timedelta(days=1), csr=csr.read_bytes()).cert
    registry.import_certificate(cert.public_bytes(serialization.Encoding.PEM))
    registry.logout("hsm")
    monkeypatch.delenv("SILD_TOKEN_PIN_HSM", raising=False)
    with pytest.raises(SetupError, match=r"in token hsm, which is logged out: set \$SILD_TOKEN_PIN_HSM"):
        signing_keys(gateway_dir, open_registry(gateway_dir, PIN))
    monkeypatch.setenv("SILD_TOKEN_PIN_HSM", hsm.pin)
    assert signing_keys(gateway_dir, open_registry(gateway_dir, PIN))[OWNER][1][0] == cert
