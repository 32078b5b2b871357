"""The certificate authority: directory, profiles (checked by openssl), CSRs, register, revocation."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.services import _ca as ca_module
from trust.services import (
    AlreadyRevoked, CaError, CertificateAuthority, CsrInvalid, RevocationReason, UnknownCertificate,
)
from trust.services._ca import CaAlreadyExists, CaNotInitialised
from trust.pki import (
    auth_cert_hash, cert_pem, fingerprint, is_tsa_cert, load_certificate, load_certificates, subject_summary,
)
from trust.pki._certs import (
    extended_key_usages, is_issued_by, is_ocsp_signer, key_usages, ocsp_query_params, subject_attribute,
)
from trust.keys import DigestAlgorithm
from trust.errors import WrongPin
from trust.protocol import MemberId, SecurityServerId
from trust.keys import KeyType

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "test-pin"
MEMBER = MemberId("EE", "GOV", "70000001")
SERVER = SecurityServerId("EE", "GOV", "70000001", "gw1")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    directory = tmp_path_factory.mktemp("ca") / "ca"
    authority = CertificateAuthority.init(directory, instance="EE", pin=PIN, now=NOW, intermediate=True,
                                          ocsp_url="http://127.0.0.1:9/ocsp")
    yield authority
    authority.close()


def _openssl_text(cert: x509.Certificate, tmp_path: Path) -> str:
    path = tmp_path / f"{cert.serial_number:x}.pem"
    path.write_bytes(cert_pem(cert))
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-text", "-nameopt", "oneline"],
                          check=True, capture_output=True, text=True).stdout


def _openssl_verify(ca: CertificateAuthority, cert: x509.Certificate, tmp_path: Path, purpose: str) -> str:
    (tmp_path / "root.pem").write_bytes(cert_pem(ca.root_cert))
    (tmp_path / "int.pem").write_bytes(b"".join(cert_pem(c) for c in ca.intermediates))
    (tmp_path / "leaf.pem").write_bytes(cert_pem(cert))
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted", str(tmp_path / "int.pem"),
         "-purpose", purpose, "-attime", str(int(NOW.timestamp())), str(tmp_path / "leaf.pem")],
        capture_output=True, text=True)
    return result.stdout + result.stderr


def test_directory_layout_and_reopen(ca: CertificateAuthority) -> None:
    for name in ("ca.json", "ca.db", "certs/root.pem", "certs/intermediate.pem", "certs/ocsp.pem", "certs/tsa.pem"):
        assert (ca.directory / name).is_file(), name
    assert sorted(ca.token.key_ids()) == ["intermediate", "ocsp", "root", "tsa"]
    # the register knows the certificates of the CA's own services too
    kinds = {r.kind: r for r in ca.issued()}
    assert kinds["intermediate"].serial == ca.intermediate_cert.serial_number  # type: ignore[union-attr]
    assert kinds["ocsp"].serial == ca.ocsp_cert.serial_number and kinds["tsa"].serial == ca.tsa_cert.serial_number
    for key_file in (ca.directory / "token").glob("*.key.pem"):
        assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
        assert key_file.stat().st_mode & 0o077 == 0
    reopened = CertificateAuthority.open(ca.directory, pin=PIN)
    try:
        assert reopened.root_cert == ca.root_cert and reopened.issuing_cert == ca.intermediate_cert
    finally:
        reopened.close()
    with pytest.raises(WrongPin):
        CertificateAuthority.open(ca.directory, pin="wrong")
    with pytest.raises(CaAlreadyExists):
        CertificateAuthority.init(ca.directory, instance="EE", pin=PIN, now=NOW)


def test_open_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CaNotInitialised):
        CertificateAuthority.open(tmp_path / "nothing", pin=PIN)


@pytest.mark.conformance(area="certificates", peer="openssl",
                         expected="openssl reads the root, OCSP and TSA certificates with X-Road's extensions")
def test_ca_certificates_profiles(ca: CertificateAuthority, tmp_path: Path) -> None:
    assert is_issued_by(ca.intermediate_cert, ca.root_cert)  # type: ignore[arg-type]
    assert is_issued_by(ca.ocsp_cert, ca.issuing_cert) and is_ocsp_signer(ca.ocsp_cert)
    assert is_issued_by(ca.tsa_cert, ca.issuing_cert) and is_tsa_cert(ca.tsa_cert)
    ocsp_text = _openssl_text(ca.ocsp_cert, tmp_path)
    assert "OCSP Signing" in ocsp_text and "OCSP No Check" in ocsp_text
    tsa_text = _openssl_text(ca.tsa_cert, tmp_path)
    assert "X509v3 Extended Key Usage: critical\n                Time Stamping" in tsa_text
    root_text = _openssl_text(ca.root_cert, tmp_path)
    assert "CA:TRUE" in root_text and "Certificate Sign, CRL Sign" in root_text


@pytest.mark.conformance(area="certificates", peer="openssl",
                         expected="X-Road's auth profile; openssl verifies it for TLS clients")
def test_auth_certificate_profile(ca: CertificateAuthority, tmp_path: Path) -> None:
    issued = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256)
    cert = issued.cert
    assert subject_summary(cert) == {"C": "EE", "O": "GOV", "CN": "70000001", "serialNumber": "EE/gw1/GOV"}
    assert key_usages(cert) == {"digital_signature", "key_encipherment"}
    assert extended_key_usages(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    text = _openssl_text(cert, tmp_path)
    assert "Subject: C = EE, O = GOV, CN = 70000001, serialNumber = EE/gw1/GOV" in text
    assert "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment" in text
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "OCSP - URI:http://127.0.0.1:9/ocsp" in text
    assert ": OK" in _openssl_verify(ca, cert, tmp_path, "sslclient")
    # the generated key comes back only encrypted with the PIN, and matches the certificate
    assert issued.encrypted_key_pem is not None and b"ENCRYPTED PRIVATE KEY" in issued.encrypted_key_pem
    with pytest.raises((TypeError, ValueError)):
        serialization.load_pem_private_key(issued.encrypted_key_pem, password=None)
    key = serialization.load_pem_private_key(issued.encrypted_key_pem, password=PIN.encode())
    assert key.public_key() == cert.public_key()


@pytest.mark.conformance(area="certificates", peer="openssl",
                         expected="X-Road's sign profile (non-repudiation); openssl verifies its chain")
def test_sign_certificate_profile(ca: CertificateAuthority, tmp_path: Path) -> None:
    cert = ca.issue_sign(MEMBER, now=NOW).cert
    assert subject_summary(cert) == {"C": "EE", "O": "GOV", "CN": "70000001"}
    assert key_usages(cert) == {"content_commitment"}
    assert extended_key_usages(cert) == frozenset()
    text = _openssl_text(cert, tmp_path)
    assert "Subject: C = EE, O = GOV, CN = 70000001\n" in text
    assert "X509v3 Key Usage: critical\n                Non Repudiation" in text
    assert ": OK" in _openssl_verify(ca, cert, tmp_path, "any")
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=700)


def test_issue_from_csr(ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
           .sign(key, hashes.SHA384()))
    issued = ca.issue_sign(MEMBER, now=NOW, csr=csr.public_bytes(serialization.Encoding.PEM))
    assert issued.encrypted_key_pem is None
    assert issued.cert.public_key() == key.public_key()
    # the CA's profile decides the subject, not the request
    assert subject_attribute(issued.cert, NameOID.COMMON_NAME) == "70000001"
    der_issued = ca.issue_auth(SERVER, now=NOW, csr=csr.public_bytes(serialization.Encoding.DER))
    assert der_issued.cert.public_key() == key.public_key()


def test_bad_csrs_are_refused(ca: CertificateAuthority) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_csr = (x509.CertificateSigningRequestBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])).sign(weak, hashes.SHA256()))
    with pytest.raises(CsrInvalid, match="2048"):
        ca.issue_sign(MEMBER, now=NOW, csr=weak_csr.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CsrInvalid):
        ca.issue_sign(MEMBER, now=NOW, csr=b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    good = ec.generate_private_key(ec.SECP256R1())
    der = bytearray((x509.CertificateSigningRequestBuilder()
                     .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
                     .sign(good, hashes.SHA256())).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    with pytest.raises(CsrInvalid):
        ca.issue_sign(MEMBER, now=NOW, csr=bytes(der))


def test_wrong_instance_and_validity(ca: CertificateAuthority) -> None:
    with pytest.raises(CaError, match="instance"):
        ca.issue_sign(MemberId("FI", "GOV", "1"), now=NOW)
    with pytest.raises(CaError):
        ca.issue_sign(MEMBER, now=NOW, validity_days=0)
    with pytest.raises(Exception, match="timezone"):
        ca.issue_sign(MEMBER, now=NOW.replace(tzinfo=None))


def test_register_serials_and_files(ca: CertificateAuthority) -> None:
    certs = [ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert for _ in range(5)]
    serials = {c.serial_number for c in certs}
    assert len(serials) == 5
    assert all(0 < s < 2**159 for s in serials)
    for cert in certs:
        record = ca.record(cert.serial_number)
        assert record is not None and not record.revoked and record.kind == "sign"
        assert record.member == "EE/GOV/70000001"
        assert load_certificate((ca.directory / "issued" / f"{cert.serial_number:040x}.pem").read_bytes()) == cert


def test_revocation(ca: CertificateAuthority) -> None:
    cert = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
    later = NOW + dt.timedelta(hours=1, microseconds=5)
    record = ca.revoke(cert, at=later, reason=RevocationReason.KEY_COMPROMISE)
    assert record.revoked_at == later.replace(microsecond=0)
    assert record.revocation_reason == "keyCompromise"
    with pytest.raises(AlreadyRevoked):
        ca.revoke(cert, at=later)
    with pytest.raises(UnknownCertificate):
        ca.revoke(ca.root_cert, at=later)  # the root is not in its own register
    with pytest.raises(UnknownCertificate):
        ca.revoke(12345, at=later)


def test_crash_while_writing_leaves_register_consistent(ca: CertificateAuthority,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(ca.issued())
    files_before = len(list((ca.directory / "issued").glob("*.pem")))

    def broken(path: Path, data: bytes, *, mode: int = 0o644) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ca_module, "write_atomic", broken)
    with pytest.raises(OSError):
        ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256)
    monkeypatch.undo()
    assert len(ca.issued()) == before  # the row was rolled back with the failed file write
    assert len(list((ca.directory / "issued").glob("*.pem"))) == files_before


def test_revocation_reasons_parse() -> None:
    assert RevocationReason.parse("keyCompromise") is RevocationReason.KEY_COMPROMISE
    assert RevocationReason.parse("key_compromise") is RevocationReason.KEY_COMPROMISE
    assert RevocationReason.CA_COMPROMISE.asn1_name == "ca_compromise"
    assert RevocationReason.CESSATION_OF_OPERATION.asn1_name == "cessation_of_operation"
    with pytest.raises(CaError):
        RevocationReason.parse("bored")


def test_long_instance_code_in_subject(tmp_path: Path) -> None:
    dev = CertificateAuthority.init(tmp_path / "dev", instance="DEV", pin=PIN, now=NOW, key_type=KeyType.EC_P256)
    try:
        cert = dev.issue_sign(MemberId("DEV", "COM", "1234"), now=NOW).cert
        assert "C = DEV, O = COM, CN = 1234" in _openssl_text(cert, tmp_path)
    finally:
        dev.close()


def test_fingerprints_and_query_params(ca: CertificateAuthority) -> None:
    der = ca.root_cert.public_bytes(serialization.Encoding.DER)
    import base64
    import hashlib

    assert auth_cert_hash(ca.root_cert, 2) == base64.b64encode(hashlib.sha1(der).digest()).decode()
    assert auth_cert_hash(ca.root_cert, 3) == base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert auth_cert_hash(der, 6) == auth_cert_hash(ca.root_cert, 3)
    assert fingerprint(ca.root_cert, DigestAlgorithm.SHA512) == hashlib.sha512(der).digest()
    assert ocsp_query_params(ca.root_cert) == {"cert": hashlib.sha1(der).hexdigest(),
                                               "cert_hash": hashlib.sha256(der).hexdigest()}
    assert load_certificate(der) == ca.root_cert
    assert load_certificate(base64.b64encode(der)) == ca.root_cert
    assert load_certificates(ca.chain_pem) == [ca.intermediate_cert, ca.root_cert]


def test_register_schema_matches_migrations(ca: CertificateAuthority) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from trust.services import VERSION_TABLE, metadata

    with ca.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == "ca0001"
        assert compare_metadata(context, metadata) == []


def test_der_certificates_ending_in_a_white_space_byte_load_whole():
    """DER is binary: a signature whose last byte is 0x0a or 0x20 must not be stripped (about 2% of certs)."""
    import datetime as _dt

    from cryptography.hazmat.primitives import hashes as _hashes
    from cryptography.hazmat.primitives import serialization as _ser

    from trust.pki import load_certificate, load_certificates
    from tests.support import pki as certs

    key = certs.new_key()
    name = certs.name(CN="ws")
    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    builder = certs.builder(name, key.public_key(), name, serial=1, not_before=start,
                            not_after=start + _dt.timedelta(days=1))
    for _ in range(2000):  # ECDSA signatures are randomised: sign until the DER ends in white space
        der = builder.sign(key, _hashes.SHA256()).public_bytes(_ser.Encoding.DER)
        if der[-1:].isspace():
            break
    else:  # pragma: no cover - (1 - 6/256) ** 2000 is negligible
        raise AssertionError("no certificate ending in white space was made")
    assert load_certificate(der).public_bytes(_ser.Encoding.DER) == der
    assert load_certificates(der)[0].public_bytes(_ser.Encoding.DER) == der
