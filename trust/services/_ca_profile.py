"""How the CA's certificates look: names, keys, extensions and serial numbers.

The profiles follow X-Road's EJBCA profile (NOTES 7) and the RFCs the relying
parties check: CA certificates with basicConstraints and keyCertSign/cRLSign; the
delegated OCSP responder with EKU OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960
4.2.2.2); the TSA with a critical EKU timeStamping (RFC 3161 2.3); gateway auth
certificates with digitalSignature + keyEncipherment and EKU serverAuth +
clientAuth; member sign certificates with nonRepudiation. They are pure functions of
their inputs, apart from fresh random serial numbers, so :class:`~._ca.CertificateAuthority`
keeps only the keys, the register and the order of issuing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from trust.keys import PrivateKey, PublicKey
from trust.pki import fingerprint_hex

from ._ca_db import CertificateRecord
from ._ca_types import CertificateKind, CsrInvalid


def _serial() -> int:
    return secrets.randbits(159) or 1


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([_attribute(oid, value) for oid, value in pairs])


def _attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    """X-Road's EJBCA profile puts the instance code in C; codes such as ``DEV`` or
    ``EE-test`` are not two letters, which RFC 5280 wants but X-Road never checked,
    so C is written as the instance code verbatim (a PrintableString or UTF8String)."""
    if oid == NameOID.COUNTRY_NAME and len(value) != 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return x509.NameAttribute(oid, value, _validate=False)
    return x509.NameAttribute(oid, value)


def _sig_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    """SHA-512 with RSA (X-Road's default), the curve's natural hash with ECDSA."""
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA512()
    return hashes.SHA384() if isinstance(key.curve, ec.SECP384R1) else hashes.SHA256()


def _check_public_key(key: object) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise CsrInvalid(f"RSA keys must have at least 2048 bits, got {key.key_size}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, (ec.SECP256R1, ec.SECP384R1)):
            raise CsrInvalid(f"EC curve {key.curve.name} is not accepted (P-256, P-384)")
        return key
    raise CsrInvalid(f"unsupported key type {type(key).__name__}")


def _service_record(kind: str, cert: x509.Certificate, issuer: x509.Certificate, now: dt.datetime) -> CertificateRecord:
    return CertificateRecord(
        serial=cert.serial_number, kind=kind, subject=_subject_text(cert), member=None, server_code=None,
        issuer_fingerprint=fingerprint_hex(issuer), sha256_hex=fingerprint_hex(cert),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, issued_at=now,
        revoked_at=None, revocation_reason=None, der=cert.public_bytes(serialization.Encoding.DER),
    )


def _subject_text(cert: x509.Certificate) -> str:
    with warnings.catch_warnings():  # C=DEV (see _attribute)
        warnings.simplefilter("ignore", UserWarning)
        return cert.subject.rfc4514_string()


def _csr_public_key(csr: bytes) -> PublicKey:
    try:
        request = (x509.load_pem_x509_csr(csr) if b"-----BEGIN" in csr else x509.load_der_x509_csr(csr))
    except ValueError as exc:
        raise CsrInvalid(f"cannot parse certificate request: {exc}") from exc
    if not request.is_signature_valid:
        raise CsrInvalid("the certificate request's signature does not verify")
    return _check_public_key(request.public_key())


def _ca_builder(subject: x509.Name, issuer: x509.Name, public_key: PublicKey, issuer_public: PublicKey,
                start: dt.datetime, end: dt.datetime, *, path_length: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(_serial()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False)
    )


def _leaf_builder(subject: x509.Name, issuer: x509.Certificate, public_key: PublicKey,
                  start: dt.datetime, end: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject).public_key(public_key)
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.public_key()), critical=False)  # type: ignore[arg-type]
    )


Extensions = tuple[tuple[x509.ExtensionType, bool], ...]
"""Extensions a profile adds to a leaf certificate, each with its criticality, in order."""

OCSP_RESPONDER_PROFILE: Extensions = (
    # the delegated OCSP responder: EKU OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2)
    (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
    (x509.OCSPNoCheck(), False),
)
TSA_PROFILE: Extensions = (
    # the TSA: EKU timeStamping, critical (RFC 3161 2.3)
    (x509.KeyUsage(True, True, False, False, False, False, False, False, False), True),
    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
)


def _service_cert(profile: Extensions, subject: x509.Name, issuer_cert: x509.Certificate, issuer_key: PrivateKey,
                  public_key: PublicKey, start: dt.datetime, not_after: dt.datetime) -> x509.Certificate:
    """A certificate of one of the CA's own services (:data:`OCSP_RESPONDER_PROFILE`, :data:`TSA_PROFILE`)."""
    builder = _leaf_builder(subject, issuer_cert, public_key, start, not_after).serial_number(_serial())
    for extension, critical in profile:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, _sig_hash(issuer_key))


def _member_profile(builder: x509.CertificateBuilder, kind: CertificateKind,
                    ocsp_url: str | None) -> x509.CertificateBuilder:
    """The extensions of a gateway auth or member sign certificate, and where its OCSP responder is."""
    if kind is CertificateKind.AUTH:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(False, True, False, False, False, False, False, False, False), critical=True
        )
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))
        ]), critical=False)
    return builder
