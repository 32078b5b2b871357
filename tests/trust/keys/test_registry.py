"""The key registry: one model of tokens, keys and certificates for the soft token and a PKCS#11 token."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from trust.errors import KeyError_, KeyNotFound, TrustError, WrongPin
from trust.keys import (
    SOFT, KeyRegistry, KeyState, KeyType, KeyUsage, SignatureAlgorithm, SoftToken, verify_digest,
)
from trust.protocol import MemberId, SecurityServerId
from trust.services import CertificateAuthority

from tests.support.softhsm import make_token

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MEMBER = MemberId("EE", "GOV", "70000001")
SERVER = SecurityServerId("EE", "GOV", "70000001", "gw1")
PIN = "1234"
SUBJECT = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "EE"),
                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GOV"),
                     x509.NameAttribute(NameOID.COMMON_NAME, "70000001")])


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    authority = CertificateAuthority.init(tmp_path_factory.mktemp("ca") / "ca", instance="EE", pin="ca-pin", now=NOW)
    yield authority
    authority.close()


@pytest.fixture(params=["soft", "pkcs11"])
def where(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KeyRegistry, str]]:
    """A registry over a soft token, and the token sign keys are made in: the soft token or SoftHSM2."""
    registry = KeyRegistry(tmp_path / "keys", SoftToken(tmp_path / "token", PIN))
    if request.param == "soft":
        yield registry, SOFT
        return
    hsm = make_token(tmp_path / "hsm", monkeypatch)
    registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    registry.login("hsm", hsm.pin)
    yield registry, "hsm"
    registry.logout("hsm")


def test_a_generated_key_is_listed_with_usage_label_algorithm_state_and_member(where: tuple[KeyRegistry, str]) -> None:
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256, label="owner 2026", member=MEMBER.to_text())
    assert key.key_id.startswith("sign-") and key.token == token
    assert (key.usage, key.label, key.algorithm, key.state, key.member, key.certificates) == (
        KeyUsage.SIGN, "owner 2026", "ec-p256", KeyState.ACTIVE, "EE/GOV/70000001", ())
    assert registry.keys() == [key]
    [info] = [t for t in registry.tokens() if t.name == token]
    assert info.logged_in and info.keys == (key,)
    assert info.kind == ("soft" if token == SOFT else "pkcs11")
    digest = b"\x07" * 32
    assert verify_digest(registry.public_key(key.key_id), SignatureAlgorithm.ECDSA_SHA256, digest,
                         registry.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, digest))


def test_csr_then_ca_then_import_attaches_the_certificate_to_its_key(where: tuple[KeyRegistry, str],
                                                                     ca: CertificateAuthority) -> None:
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.RSA2048, member=MEMBER.to_text())
    other = registry.generate(token, KeyUsage.SIGN, KeyType.RSA3072)
    csr = x509.load_pem_x509_csr(registry.csr(key.key_id, SUBJECT))
    assert csr.is_signature_valid and csr.subject == SUBJECT
    issued = ca.issue_sign(MEMBER, now=NOW, csr=csr.public_bytes(serialization.Encoding.PEM))
    pem = issued.cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem
    cert = registry.import_certificate(pem)
    assert (cert.key_id, cert.state, cert.serial) == (key.key_id, KeyState.ACTIVE, issued.cert.serial_number)
    assert registry.key(key.key_id).certificates == (cert,)
    assert registry.key(other.key_id).certificates == ()
    assert registry.certificate_chain(cert.id)[0] == issued.cert
    with pytest.raises(KeyError_) as again:
        registry.import_certificate(pem)
    assert again.value.code == "trust.key.certificate_exists"
    disabled = registry.set_certificate_state(cert.id, KeyState.DISABLED)
    assert disabled.state is KeyState.DISABLED and registry.key(key.key_id).certificates == (disabled,)
    registry.delete_certificate(cert.id)
    assert registry.key(key.key_id).certificates == ()


def test_certificates_for_no_key_or_the_other_usage_are_refused(where: tuple[KeyRegistry, str],
                                                                ca: CertificateAuthority, tmp_path: Path) -> None:
    registry, token = where
    sign = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256)
    auth = registry.generate(SOFT, KeyUsage.AUTH, KeyType.EC_P256)
    stranger = ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert
    with pytest.raises(KeyError_) as none:
        registry.import_certificate(stranger.public_bytes(serialization.Encoding.DER))
    assert none.value.code == "trust.key.certificate_no_key"
    auth_cert = ca.issue_auth(SERVER, now=NOW, public_key=registry.public_key(sign.key_id)).cert
    with pytest.raises(KeyError_, match="the certificate is for auth keys; key .* is a sign key") as usage:
        registry.import_certificate(auth_cert.public_bytes(serialization.Encoding.PEM))
    assert usage.value.code == "trust.key.certificate_usage"
    good = ca.issue_auth(SERVER, now=NOW, csr=registry.csr(auth.key_id, SUBJECT)).cert
    assert registry.import_certificate(good.public_bytes(serialization.Encoding.PEM)).key_id == auth.key_id
    with pytest.raises(KeyError_) as junk:
        registry.import_certificate(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert junk.value.code == "trust.key.certificate_invalid"


def test_a_disabled_key_neither_signs_nor_requests_until_activated(where: tuple[KeyRegistry, str]) -> None:
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256)
    assert registry.set_key_state(key.key_id, KeyState.DISABLED).state is KeyState.DISABLED
    for attempt in (lambda: registry.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, b"\0" * 32),
                    lambda: registry.csr(key.key_id, SUBJECT)):
        with pytest.raises(KeyError_) as info:
            attempt()
        assert info.value.code == "trust.key.disabled"
    registry.set_key_state(key.key_id, KeyState.ACTIVE)
    registry.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, b"\0" * 32)


def test_renewal_makes_a_new_key_for_the_same_usage_and_member(where: tuple[KeyRegistry, str]) -> None:
    registry, token = where
    old = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256, label="owner", member=MEMBER.to_text())
    new = registry.renew(old.key_id)
    assert new.key_id != old.key_id
    assert (new.token, new.usage, new.algorithm, new.label, new.member, new.state) == (
        token, KeyUsage.SIGN, "ec-p256", "owner", MEMBER.to_text(), KeyState.ACTIVE)
    assert registry.public_key(new.key_id) != registry.public_key(old.key_id)
    assert registry.key(old.key_id).state is KeyState.ACTIVE  # still signing until its successor is certified
    assert registry.renew(old.key_id, new_key=False) == registry.key(old.key_id)
    assert registry.renew(old.key_id, key_type=KeyType.RSA3072).algorithm == "rsa3072"


def test_a_deleted_key_leaves_the_token_with_its_certificates(where: tuple[KeyRegistry, str],
                                                              ca: CertificateAuthority) -> None:
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256)
    cert = registry.import_certificate(ca.issue_sign(MEMBER, now=NOW, csr=registry.csr(key.key_id, SUBJECT))
                                       .cert.public_bytes(serialization.Encoding.PEM))
    registry.delete_key(key.key_id)
    assert registry.keys() == []
    assert not registry.token(token).has_key(key.key_id)
    with pytest.raises(KeyNotFound):
        registry.key(key.key_id)
    with pytest.raises(KeyError_):
        registry.certificate_chain(cert.id)


def test_a_logged_out_token_still_lists_its_keys_but_signs_nothing(where: tuple[KeyRegistry, str]) -> None:
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256)
    registry.logout(token)
    [listed] = registry.keys()
    assert listed.key_id == key.key_id and listed.algorithm == "ec-p256"
    assert not [t for t in registry.tokens() if t.name == token][0].logged_in
    with pytest.raises(KeyError_) as info:
        registry.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, b"\0" * 32)
    assert info.value.code == "trust.key.logged_out"
    with pytest.raises(WrongPin):
        registry.login(token, "0000" if token != SOFT else "wrong")
    registry.login(token, PIN if token == SOFT else "4321")
    registry.sign(key.key_id, SignatureAlgorithm.ECDSA_SHA256, b"\0" * 32)


def test_the_registry_is_read_again_by_another_process_view(where: tuple[KeyRegistry, str], tmp_path: Path) -> None:
    """A CLI command and a running node share the file: a change by one is seen by the other."""
    registry, token = where
    key = registry.generate(token, KeyUsage.SIGN, KeyType.EC_P256)
    other = KeyRegistry(tmp_path / "keys", SoftToken(tmp_path / "token", PIN))
    other.set_key_state(key.key_id, KeyState.DISABLED)
    assert registry.key(key.key_id).state is KeyState.DISABLED
    assert json.loads((tmp_path / "keys" / "keys.json").read_text())["keys"][key.key_id]["state"] == "disabled"


def test_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = KeyRegistry(tmp_path / "keys", SoftToken(tmp_path / "token", PIN))
    with pytest.raises(KeyError_) as p384:
        registry.generate(SOFT, KeyUsage.SIGN, KeyType.EC_P384)
    assert p384.value.code == "trust.key.bad_key_type"
    registry.generate(SOFT, KeyUsage.SIGN, KeyType.EC_P256, key_id="sign")
    with pytest.raises(TrustError) as exists:
        registry.generate(SOFT, KeyUsage.SIGN, KeyType.EC_P256, key_id="sign")
    assert exists.value.code == "trust.key.exists"
    with pytest.raises(KeyError_) as unknown:
        registry.login("nope", PIN)
    assert unknown.value.code == "trust.key.no_such_token"
    hsm = make_token(tmp_path / "hsm", monkeypatch)
    registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    registry.login("hsm", hsm.pin)
    with pytest.raises(KeyError_) as auth:
        registry.generate("hsm", KeyUsage.AUTH, KeyType.EC_P256)
    assert auth.value.code == "trust.key.auth_not_on_hsm"
    with pytest.raises(KeyError_) as twice:
        registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    assert twice.value.code == "trust.key.token_exists"
    with pytest.raises(TrustError) as across:  # key ids are unique across tokens
        registry.generate("hsm", KeyUsage.SIGN, KeyType.EC_P256, key_id="sign")
    assert across.value.code == "trust.key.exists"
    registry.logout("hsm")


def test_keys_the_registry_never_recorded_are_listed_from_their_token(tmp_path: Path) -> None:
    """Gateway directories made before the registry hold ``auth`` and ``sign`` keys: they are listed too."""
    soft = SoftToken(tmp_path / "token", PIN)
    soft.generate("auth", KeyType.RSA2048)
    soft.generate("internal-tls", KeyType.EC_P256)
    keys = {k.key_id: k for k in KeyRegistry(tmp_path / "keys", soft).keys()}
    assert (keys["auth"].usage, keys["auth"].algorithm) == (KeyUsage.AUTH, "rsa2048")
    assert keys["internal-tls"].usage is None and keys["internal-tls"].token == SOFT
