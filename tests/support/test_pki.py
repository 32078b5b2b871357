"""The tests' one certificate builder gives the properties the other tests rely on."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import pki

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def _ext(cert: x509.Certificate, kind: type) -> x509.Extension:  # type: ignore[type-arg]
    return cert.extensions.get_extension_for_class(kind)


def test_a_test_ca_is_a_ca_that_signs_certificates_and_crls() -> None:
    ca = pki.TestCa.create("Some CA", NOW)
    assert ca.cert.subject == ca.cert.issuer == pki.name(CN="Some CA")
    assert _ext(ca.cert, x509.BasicConstraints).value.ca and _ext(ca.cert, x509.BasicConstraints).critical
    usage = _ext(ca.cert, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert ca.cert.not_valid_before_utc == NOW - dt.timedelta(days=1)
    assert ca.cert.not_valid_after_utc == NOW + dt.timedelta(days=3650)
    ca.cert.verify_directly_issued_by(ca.cert)


def test_gateway_identity_has_x_road_auth_and_sign_certificates(tmp_path: Path) -> None:
    ca = pki.TestCa.create("Some CA", NOW)
    files = pki.make_gateway_identity(ca, tmp_path, "EE/GOV/70000001/gw1", NOW)
    auth = x509.load_pem_x509_certificate(files["auth_cert"].read_bytes())
    sign = x509.load_pem_x509_certificate(files["sign_cert"].read_bytes())
    for cert in (auth, sign):
        cert.verify_directly_issued_by(ca.cert)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "70000001"
    assert auth.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "EE/gw1/GOV"
    auth_usage = _ext(auth, x509.KeyUsage).value
    assert auth_usage.digital_signature and auth_usage.key_encipherment and not auth_usage.content_commitment
    assert set(_ext(auth, x509.ExtendedKeyUsage).value) == {ExtendedKeyUsageOID.CLIENT_AUTH,
                                                            ExtendedKeyUsageOID.SERVER_AUTH}
    sign_usage = _ext(sign, x509.KeyUsage).value
    assert sign_usage.content_commitment and not sign_usage.digital_signature
    with pytest.raises(x509.ExtensionNotFound):
        _ext(sign, x509.ExtendedKeyUsage)


def test_a_tls_server_certificate_names_its_ip_and_loads_into_ssl(tmp_path: Path) -> None:
    ca = pki.TestCa.create("Some CA", NOW)
    cert_file, key_file = ca.tls_server(tmp_path, "srv", "backend", not_before=NOW, not_after=NOW + dt.timedelta(days=1))
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert [str(ip) for ip in _ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1"]
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(cert_file), str(key_file))


def test_issue_adds_only_the_extensions_asked_for() -> None:
    key = pki.new_key("rsa")
    bare = pki.self_signed(key, pki.name(CN="x"), serial=5, not_before=NOW, not_after=NOW + dt.timedelta(days=1))
    assert bare.serial_number == 5 and len(bare.extensions) == 0
    full = pki.self_signed(key, pki.name(CN="x"), not_before=NOW, not_after=NOW + dt.timedelta(days=1), ca=True,
                           path_length=0, key_usage={"key_cert_sign"}, eku=[ExtendedKeyUsageOID.TIME_STAMPING],
                           eku_critical=True, subject_key_id=True, authority_key=key.public_key())
    assert _ext(full, x509.BasicConstraints).value.path_length == 0
    assert _ext(full, x509.ExtendedKeyUsage).critical
    assert _ext(full, x509.SubjectKeyIdentifier).value.digest == \
        _ext(full, x509.AuthorityKeyIdentifier).value.key_identifier
    with pytest.raises(AssertionError, match="unknown key usages"):
        pki.self_signed(key, pki.name(CN="x"), not_before=NOW, not_after=NOW, key_usage={"sign_everything"})


def test_names_keep_their_order() -> None:
    subject = pki.name((NameOID.COUNTRY_NAME, "FI"), CN="4321", serialNumber="DEV/ss1/COM")
    assert [a.oid for a in subject] == [NameOID.COUNTRY_NAME, NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER]
