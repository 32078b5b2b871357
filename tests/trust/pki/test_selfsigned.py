"""trust.pki._selfsigned: one self-signed certificate builder through the Signer, valid past 2050."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.errors import TrustError
from trust.keys import DigestAlgorithm, KeyType, SoftToken
from trust.pki import asn1_time, self_signed_certificate

SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EE internal configuration signing key")])
T0 = dt.datetime(2026, 6, 1, 12, 0, 0, 654321, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> SoftToken:
    token = SoftToken(Path(tmp_path_factory.mktemp("token")), "1234")
    token.generate("rsa", KeyType.RSA2048)
    token.generate("ec", KeyType.EC_P256)
    return token


def _verify(cert: x509.Certificate) -> None:
    public = cert.public_key()
    assert cert.signature_hash_algorithm is not None
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


@pytest.mark.parametrize("key_id", ["rsa", "ec"])
def test_a_signing_key_certificate_is_signed_by_its_own_key(token: SoftToken, key_id: str) -> None:
    der = self_signed_certificate(token, key_id, SUBJECT, not_before=T0, not_after=T0 + dt.timedelta(days=30),
                                  digest=DigestAlgorithm.SHA512, key_usage={"digital_signature"},
                                  subject_key_identifier=True)
    cert = x509.load_der_x509_certificate(der)
    _verify(cert)
    assert cert.subject == cert.issuer == SUBJECT
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA512)
    assert cert.not_valid_before_utc == T0.replace(microsecond=0)  # whole seconds
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).critical
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value == \
        x509.SubjectKeyIdentifier.from_public_key(cert.public_key())  # type: ignore[arg-type]
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_a_tls_certificate_has_only_the_extended_usage(token: SoftToken) -> None:
    der = self_signed_certificate(token, "ec", SUBJECT, not_before=T0, not_after=T0 + dt.timedelta(days=1),
                                  extended_key_usage=["server_auth"])
    cert = x509.load_der_x509_certificate(der)
    _verify(cert)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.KeyUsage)


def test_validity_after_2050_is_generalized_time(token: SoftToken) -> None:
    """RFC 5280 4.1.2.5: UTCTime cannot say 2050 or later; GeneralizedTime takes over there."""
    start = dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    end = dt.datetime(2070, 1, 2, 3, 4, 5, 999, tzinfo=dt.timezone.utc)
    der = self_signed_certificate(token, "rsa", SUBJECT, not_before=start, not_after=end)
    cert = x509.load_der_x509_certificate(der)
    _verify(cert)
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == end.replace(microsecond=0)
    validity = asn1_x509.Certificate.load(der)["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"
    assert asn1_time(dt.datetime(2050, 1, 1, tzinfo=dt.timezone.utc)).name == "general_time"


def test_naive_times_are_refused(token: SoftToken) -> None:
    with pytest.raises(TrustError):
        self_signed_certificate(token, "ec", SUBJECT, not_before=dt.datetime(2026, 1, 1),
                                not_after=T0 + dt.timedelta(days=1))
