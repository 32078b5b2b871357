"""Which keys sign a registration request: the newest active auth and owner sign keys of the registry,
so after a renewal the new key signs; a gateway that never renewed signs with ``auth``/``sign`` (issue 17)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from federation.central import build_registration_request
from gateway.provision import (
    add_member, auth_key, import_certificate, init_gateway, open_registry, owner_keys, renew_key,
)
from gateway.settings import SetupError
from trust.keys import KeyRegistry, KeyState, KeyType, SignatureAlgorithm, verify_digest
from trust.protocol import MemberId, SecurityServerId
from trust.services import CertificateAuthority

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "gw-pin"
SERVER = SecurityServerId("EE", "GOV", "70000001", "gw1")
OWNER = SERVER.owner


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[CertificateAuthority]:
    authority = CertificateAuthority.init(tmp_path / "ca", instance="EE", pin="ca-pin", now=NOW - dt.timedelta(days=2),
                                          key_type=KeyType.EC_P256)
    yield authority
    authority.close()


@pytest.fixture
def gdir(tmp_path: Path, ca: CertificateAuthority) -> Path:
    """A gateway as ``init`` + ``import-cert`` leave it: ``auth`` and ``sign`` certified a day ago."""
    directory = tmp_path / "gw"
    init_gateway(directory, anchor=None, server=SERVER.to_text(), pin=PIN, key_type=KeyType.EC_P256)
    day_ago = NOW - dt.timedelta(days=1)
    for cert in (ca.issue_auth(SERVER, now=day_ago, csr=(directory / "csr" / "auth.csr.pem").read_bytes()).cert,
                 ca.issue_sign(OWNER, now=day_ago, csr=(directory / "csr" / "sign.csr.pem").read_bytes()).cert):
        import_certificate(directory, cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem, pin=PIN)
    return directory


def _signed_by(registry: KeyRegistry, keys: dict[str, tuple[str, list[x509.Certificate]]]) -> dict[str, bytes]:
    """Build a registration request with ``keys`` and return the DER certificate each signature verifies with."""
    (auth_id, auth), (sign_id, sign) = keys["auth"], keys["sign"]
    document = json.loads(build_registration_request(
        server=SERVER, address="gw1.example", auth_cert=auth[0], sign_cert=sign[0], sign_ocsp=b"o", auth_ocsp=b"o",
        owner_signer=registry, sign_key_id=sign_id, auth_signer=registry, auth_key_id=auth_id, created_at=NOW))
    payload = base64.b64decode(document["payload"])
    verified = {}
    for name, cert in (("ownerSignature", sign[0]), ("authSignature", auth[0])):
        algorithm = SignatureAlgorithm.from_uri(document[name]["algorithm"])
        value = base64.b64decode(document[name]["value"])
        assert verify_digest(cert.public_key(), algorithm, algorithm.digest.digest(payload), value), name
        verified[name] = cert.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(document["ownerSignature"]["certificate"]) == verified["ownerSignature"]
    return verified


def test_a_gateway_that_never_renewed_signs_with_auth_and_sign(gdir: Path) -> None:
    registry = open_registry(gdir, PIN)
    keys = owner_keys(gdir, registry)
    assert (keys["auth"][0], keys["sign"][0]) == ("auth", "sign")
    _signed_by(registry, keys)


def test_after_a_renewal_the_registration_request_is_signed_by_the_new_keys(gdir: Path,
                                                                           ca: CertificateAuthority) -> None:
    registry = open_registry(gdir, PIN)
    old_sign = owner_keys(gdir, registry)["sign"][1][0]
    sign_key, sign_csr = renew_key(gdir, registry, "sign")
    assert owner_keys(gdir, registry)["sign"][0] == "sign"  # no certificate for the new key yet: the old one signs
    new_sign = ca.issue_sign(OWNER, now=NOW, csr=sign_csr.read_bytes()).cert
    registry.import_certificate(new_sign.public_bytes(serialization.Encoding.PEM) + ca.chain_pem)
    auth_new, auth_csr = renew_key(gdir, registry, "auth")
    new_auth = ca.issue_auth(SERVER, now=NOW, csr=auth_csr.read_bytes()).cert
    registry.import_certificate(new_auth.public_bytes(serialization.Encoding.DER))

    keys = owner_keys(gdir, registry)
    assert (keys["auth"][0], keys["sign"][0]) == (auth_new.key_id, sign_key.key_id)
    verified = _signed_by(registry, keys)
    assert verified["ownerSignature"] == new_sign.public_bytes(serialization.Encoding.DER)
    assert verified["ownerSignature"] != old_sign.public_bytes(serialization.Encoding.DER)
    assert verified["authSignature"] == new_auth.public_bytes(serialization.Encoding.DER)

    registry.set_key_state(sign_key.key_id, KeyState.DISABLED)  # a disabled key never signs: back to the old one
    registry.set_key_state(auth_new.key_id, KeyState.DISABLED)
    assert (owner_keys(gdir, registry)["sign"][0], auth_key(gdir, registry)[0]) == ("sign", "auth")
    registry.set_key_state("auth", KeyState.DISABLED)
    with pytest.raises(SetupError, match="with a certificate is disabled; activate one"):
        auth_key(gdir, registry)
    (gdir / "certs" / "auth.pem").unlink()
    with pytest.raises(SetupError, match="no auth certificate imported yet"):
        auth_key(gdir, registry)


def test_add_member_requests_a_certificate_for_the_members_newest_key(gdir: Path, ca: CertificateAuthority) -> None:
    hosted = MemberId("EE", "COM", "20000002")
    first = add_member(gdir, hosted, pin=PIN)
    first_key = x509.load_pem_x509_csr(first.read_bytes()).public_key()
    assert add_member(gdir, hosted, pin=PIN) == first  # unchanged for a member that never renewed
    registry = open_registry(gdir, PIN)
    import_certificate(gdir, ca.issue_sign(hosted, now=NOW - dt.timedelta(hours=1),
                                           csr=first.read_bytes()).cert.public_bytes(serialization.Encoding.PEM),
                       pin=PIN)
    renewed, csr = renew_key(gdir, registry, first.name.removesuffix(".csr.pem"))
    registry.import_certificate(ca.issue_sign(hosted, now=NOW, csr=csr.read_bytes()).cert.public_bytes(
        serialization.Encoding.PEM))
    again = add_member(gdir, hosted, pin=PIN)
    assert again.name == f"{renewed.key_id}.csr.pem"
    public = x509.load_pem_x509_csr(again.read_bytes()).public_key()
    assert public == registry.public_key(renewed.key_id) and public != first_key


def test_status_shows_the_sign_certificate_the_node_signs_with_after_a_renewal(
        gdir: Path, ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sild gateway status` listed the init-time `sign` certificate after a rotation (issue 17: status that lies)."""
    from gateway.node._status import own_certificates

    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    before = own_certificates(gdir)
    assert set(before) == {"auth", "sign"}
    registry = open_registry(gdir, PIN)
    sign_key, sign_csr = renew_key(gdir, registry, "sign")
    new_sign = ca.issue_sign(OWNER, now=NOW, csr=sign_csr.read_bytes()).cert
    registry.import_certificate(new_sign.public_bytes(serialization.Encoding.PEM) + ca.chain_pem)
    after = own_certificates(gdir)
    assert set(after) == {"auth", sign_key.key_id}
    assert after[sign_key.key_id].serial_number == new_sign.serial_number
    monkeypatch.delenv("SILD_TOKEN_PIN")  # without the PIN the registry cannot be opened: the files are shown
    assert set(own_certificates(gdir)) == {"auth", "sign"}


def test_the_tls_files_are_those_of_the_auth_key_picked(gdir: Path, ca: CertificateAuthority) -> None:
    """The node's mutual TLS loads the auth key ``auth_key`` picks, from files (Python's ssl needs them; issue 17)."""
    from gateway.provision import auth_tls_key

    registry = open_registry(gdir, PIN)
    key_id, _chain, (cert_file, key_file, password) = auth_tls_key(gdir, registry)
    assert (key_id, cert_file, password) == ("auth", str(gdir / "certs" / "auth.pem"), PIN)
    renewed, csr = renew_key(gdir, registry, "auth")
    new_auth = ca.issue_auth(SERVER, now=NOW, csr=csr.read_bytes()).cert
    registry.import_certificate(new_auth.public_bytes(serialization.Encoding.PEM) + ca.chain_pem)
    key_id, chain, (cert_file, key_file, _) = auth_tls_key(gdir, registry)
    assert key_id == renewed.key_id and chain[0] == new_auth
    assert x509.load_pem_x509_certificates(Path(cert_file).read_bytes())[0] == new_auth  # leaf first, then the CA
    assert Path(key_file) == gdir / "token" / f"{renewed.key_id}.key.pem"



def test_client_sync_looks_for_the_gateway_by_a_renewed_auth_certificate_too(
        gdir: Path, ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an auth key renewal the authority may list only the new certificate: sync must still find the gateway."""
    from gateway.admin._requests import _auth_certificates

    registry = open_registry(gdir, PIN)
    renewed, csr = renew_key(gdir, registry, "auth")
    issued = ca.issue_auth(SERVER, now=NOW, csr=csr.read_bytes()).cert
    registry.import_certificate(issued.public_bytes(serialization.Encoding.DER))
    old = x509.load_pem_x509_certificate((gdir / "certs" / "auth.pem").read_bytes())
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    serials = [c.serial_number for c in _auth_certificates(gdir)]
    assert issued.serial_number in serials and old.serial_number in serials
    monkeypatch.delenv("SILD_TOKEN_PIN")  # the registry needs the PIN: only the file is looked at then
    assert [c.serial_number for c in _auth_certificates(gdir)] == [old.serial_number]
