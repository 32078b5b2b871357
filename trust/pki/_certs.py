"""X.509 certificates: loading, fingerprints, usages and subject attributes.

Everything else in sild that touches a certificate goes through these helpers, so
the X-Road specific encodings live in exactly one place:

* ``authCertHash`` in shared parameters is the hash of the DER certificate, base64,
  **SHA-1 in configuration version 2 and SHA-256 from version 3 on** (NOTES 5);
* the gateway OCSP query carries ``cert`` = SHA-1 hex of the DER and ``cert_hash`` =
  SHA-256 hex (NOTES 7, 9);
* XAdES ``CertDigest`` and globalconf ``Verification-certificate-hash`` are SHA-512.

Fingerprints are always over the exact DER bytes of the certificate as received,
never over a re-encoding.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import TrustError

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


class CertificateError(TrustError):
    """A certificate (or chain) cannot be read or does not have the expected form."""

    code = "trust.cert.invalid"


# -- loading -----------------------------------------------------------------


def load_certificate(data: bytes) -> x509.Certificate:
    """One certificate from PEM or DER bytes (PEM when the PEM header is present)."""
    certs = load_certificates(data)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, or the single certificate of DER bytes.

    Bare base64 is accepted as well, of DER or of a whole PEM file: X-Road's shared
    parameters carry CA certificates both ways (``<cert>`` holding base64 of a PEM).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise CertificateError("certificate data must be bytes")
    data = bytes(data)
    if data[:1] == b"\x30":
        # DER is binary: its last bytes may look like white space, so it is never stripped
        candidate = data
    else:
        candidate = data.strip()
        if not candidate:
            raise CertificateError("no certificate data")
        if _PEM_BEGIN not in candidate:
            candidate = _maybe_base64(candidate)
    return read_certificates(candidate)


def read_certificates(data: bytes, *, der_only: bool = False) -> list[x509.Certificate]:
    """The strict reader: PEM (one or more, leaf first) or exactly one DER certificate, as given.

    No stripping, no base64 guessing: what a peer, a TLS stack or an operator's file
    hands over is read as exactly that, so a DER certificate whose last byte looks like
    white space survives. ``der_only`` refuses PEM (wire formats that carry DER).
    Every parse failure answers :class:`CertificateError`, including cryptography's
    ``InvalidVersion``, which is no ``ValueError`` (found by tests/fuzz): callers catch
    one error and translate it into their own.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise CertificateError("certificate data must be bytes")
    data = bytes(data)
    pem = _PEM_BEGIN in data and not der_only
    try:
        certs = list(x509.load_pem_x509_certificates(data)) if pem else [x509.load_der_x509_certificate(data)]
    except (ValueError, x509.InvalidVersion) as exc:
        raise CertificateError(f"cannot parse certificate: {exc}") from exc
    if not certs:
        raise CertificateError("no certificate found")
    return certs


def read_certificate(data: bytes, *, der_only: bool = False) -> x509.Certificate:
    """Exactly one certificate through :func:`read_certificates`."""
    certs = read_certificates(data, der_only=der_only)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def _maybe_base64(data: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return data


def load_certificate_file(path: Path | str) -> x509.Certificate:
    try:
        return load_certificate(Path(path).read_bytes())
    except OSError as exc:
        raise CertificateError(f"cannot read certificate file {path}: {exc.strerror}") from exc


def load_certificate_chain_file(path: Path | str) -> list[x509.Certificate]:
    try:
        return load_certificates(Path(path).read_bytes())
    except OSError as exc:
        raise CertificateError(f"cannot read certificate file {path}: {exc.strerror}") from exc


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certs_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(cert_pem(c) for c in certs)


# -- fingerprints ------------------------------------------------------------


def fingerprint(cert: x509.Certificate | bytes, algorithm: DigestAlgorithm = DigestAlgorithm.SHA256) -> bytes:
    """Digest of the certificate's DER bytes (pass DER bytes to hash exactly what was received)."""
    der = cert if isinstance(cert, bytes) else cert_der(cert)
    return algorithm.digest(der)


def fingerprint_hex(cert: x509.Certificate | bytes, algorithm: DigestAlgorithm = DigestAlgorithm.SHA256) -> str:
    return fingerprint(cert, algorithm).hex()


def fingerprint_b64(cert: x509.Certificate | bytes, algorithm: DigestAlgorithm = DigestAlgorithm.SHA256) -> str:
    return base64.b64encode(fingerprint(cert, algorithm)).decode("ascii")


def auth_cert_hash_algorithm(conf_version: int) -> DigestAlgorithm:
    """The digest of ``authCertHash``: SHA-1 in configuration version 2, SHA-256 from 3 on."""
    if conf_version < 2:
        raise CertificateError(f"no configuration version {conf_version}")
    return DigestAlgorithm.SHA1 if conf_version == 2 else DigestAlgorithm.SHA256


def auth_cert_hash(cert: x509.Certificate | bytes, conf_version: int) -> str:
    """``authCertHash`` as shared parameters of ``conf_version`` carry it (base64)."""
    return fingerprint_b64(cert, auth_cert_hash_algorithm(conf_version))


def ocsp_query_params(cert: x509.Certificate | bytes) -> dict[str, str]:
    """``cert`` (SHA-1 hex, the one X-Road reads) and ``cert_hash`` (SHA-256 hex) of the OCSP query."""
    return {
        "cert": fingerprint_hex(cert, DigestAlgorithm.SHA1),
        "cert_hash": fingerprint_hex(cert, DigestAlgorithm.SHA256),
    }


# -- usages ------------------------------------------------------------------

_KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def key_usages(cert: x509.Certificate) -> frozenset[str]:
    """Key usage bits set, by cryptography's names (``content_commitment`` is nonRepudiation).

    An absent extension gives an empty set: callers decide whether that is acceptable.
    """
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    names = {name for name in _KEY_USAGE_NAMES if getattr(ku, name)}
    if ku.key_agreement:
        if ku.encipher_only:
            names.add("encipher_only")
        if ku.decipher_only:
            names.add("decipher_only")
    return frozenset(names)


def has_key_usage_extension(cert: x509.Certificate) -> bool:
    return _has_extension(cert, ExtensionOID.KEY_USAGE)


def extended_key_usages(cert: x509.Certificate) -> frozenset[x509.ObjectIdentifier]:
    """EKU OIDs; empty when the extension is absent."""
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return frozenset()


def has_extended_key_usage(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    return oid in extended_key_usages(cert)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def is_ocsp_signer(cert: x509.Certificate) -> bool:
    return has_extended_key_usage(cert, ExtendedKeyUsageOID.OCSP_SIGNING)


def is_tsa_cert(cert: x509.Certificate) -> bool:
    """EKU timeStamping, and RFC 3161 2.3 requires that extension to be critical."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ext.critical and ExtendedKeyUsageOID.TIME_STAMPING in ext.value


def _has_extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return False
    return True


# -- names, issuers, time ----------------------------------------------------


def subject_attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    """The first value of a subject attribute (``NameOID.COMMON_NAME`` ...), or None."""
    values = subject_attributes(cert, oid)
    return values[0] if values else None


def subject_attributes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    out: list[str] = []
    for attr in cert.subject.get_attributes_for_oid(oid):
        value = attr.value
        out.append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    return out


def subject_summary(cert: x509.Certificate) -> dict[str, str]:
    """C, O, OU, CN, serialNumber, businessCategory and organizationIdentifier as present."""
    wanted = {
        "C": NameOID.COUNTRY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "CN": NameOID.COMMON_NAME,
        "serialNumber": NameOID.SERIAL_NUMBER,
        "businessCategory": NameOID.BUSINESS_CATEGORY,
        "organizationIdentifier": NameOID.ORGANIZATION_IDENTIFIER,
    }
    out: dict[str, str] = {}
    for key, oid in wanted.items():
        value = subject_attribute(cert, oid)
        if value is not None:
            out[key] = value
    return out


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and is_issued_by(cert, cert)


def is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s name matches and its key verifies ``cert``'s signature."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def find_issuer(cert: x509.Certificate, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if is_issued_by(cert, candidate):
            return candidate
    return None


def require_aware(moment: dt.datetime, what: str = "moment") -> dt.datetime:
    """Refuse naive datetimes (DESIGN 6.3); return the moment in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TrustError(f"{what} must be timezone-aware", code="trust.time.naive")
    return moment.astimezone(dt.timezone.utc)


def is_valid_at(cert: x509.Certificate, at: dt.datetime) -> bool:
    at = require_aware(at)
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


# -- signature algorithm identifiers (CMS, OCSP) ---------------------------

# Hashes accepted inside signatures sild verifies (CMS signer infos, OCSP responses,
# timestamp tokens). SHA-1 and MD5 are refused: no X-Road format needs them there.
SIGNATURE_HASHES = frozenset({"sha224", "sha256", "sha384", "sha512"})

_ASN1_SIGNATURE_NAMES = {
    "RSA_SHA256": "sha256_rsa",
    "RSA_SHA512": "sha512_rsa",
    "ECDSA_SHA256": "sha256_ecdsa",
    "ECDSA_SHA512": "sha512_ecdsa",
}


def asn1_signature_algorithm_name(algorithm: SignatureAlgorithm) -> str:
    """asn1crypto's name of the AlgorithmIdentifier for ``algorithm`` (``sha512_rsa``...)."""
    return _ASN1_SIGNATURE_NAMES[algorithm.name]


def verify_asn1_signature(
    public_key: object,
    signature_algo: str,
    hash_algo: str,
    data: bytes,
    signature: bytes,
    pss_params: object | None = None,
) -> bool:
    """Verify ``signature`` over ``data``; ``signature_algo`` is ``rsassa_pkcs1v15``,
    ``rsassa_pss`` or ``ecdsa`` (asn1crypto's ``signature_algo``) and ``hash_algo`` the
    digest name (``sha512``). False on a bad signature or a refused algorithm."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if hash_algo not in SIGNATURE_HASHES:
        return False
    hash_classes: dict[str, type[hashes.HashAlgorithm]] = {
        "sha224": hashes.SHA224,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
    }
    hash_cls = hash_classes[hash_algo]()
    try:
        if signature_algo == "rsassa_pkcs1v15" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hash_cls)
            return True
        if signature_algo == "rsassa_pss" and isinstance(public_key, rsa.RSAPublicKey):
            salt = pss_params if isinstance(pss_params, int) else padding.PSS.AUTO
            public_key.verify(signature, data, padding.PSS(padding.MGF1(hash_cls), salt), hash_cls)
            return True
        if signature_algo == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_cls))
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
