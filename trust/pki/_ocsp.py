"""OCSP (RFC 6960) on the relying side: requests, and verification of responses.

X-Road does no OCSP stapling: a gateway fetches OCSP responses for its own
certificates and ships them inside messages; the peer (and later the evidence
verifier) checks them (NOTES 7). :func:`verify_ocsp_response` is that check:

1. the response is ``successful`` and a BasicOCSPResponse;
2. its signer is *authorised*: the issuing CA itself, a certificate the CA issued
   directly with EKU OCSPSigning (RFC 6960 4.2.2.2), or a responder certificate the
   governing authority listed for that CA;
3. the signature over the exact ``tbsResponseData`` bytes verifies;
4. a single response names this certificate (serial + issuer name/key hashes);
5. the nonce matches when one was sent;
6. it is fresh: ``thisUpdate`` no older than ``freshness_seconds`` before ``at`` and
   not in the future, and ``nextUpdate`` (when present) not passed.

The result is a :class:`VerifiedOcspStatus` carrying the verified bytes; a revoked
or unknown certificate is a *verified* answer, not an error: callers decide
(:mod:`trust.pki._pathvalidation` turns it into ``CertificateRevoked``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import SignatureAlgorithmOID

from ._approved import ApprovedCa, TrustPolicy
from ._certs import cert_der, find_issuer, fingerprint_hex, is_issued_by, is_ocsp_signer, require_aware
from ._certs import verify_asn1_signature
from trust.errors import TrustError

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)


class OcspError(TrustError):
    code = "trust.ocsp.error"


class OcspMalformed(OcspError):
    code = "trust.ocsp.malformed"


class OcspResponseStatusError(OcspError):
    """The responder answered with a non-successful status (tryLater, unauthorized ...)."""

    code = "trust.ocsp.unsuccessful"


class OcspSignatureInvalid(OcspError):
    code = "trust.ocsp.signature_invalid"


class OcspResponderNotAuthorised(OcspError):
    code = "trust.ocsp.responder_not_authorised"


class OcspCertificateMismatch(OcspError):
    """The response does not speak about this certificate."""

    code = "trust.ocsp.certificate_mismatch"


class OcspNonceMismatch(OcspError):
    code = "trust.ocsp.nonce_mismatch"


class OcspStale(OcspError):
    """thisUpdate is older than the freshness limit, in the future, or nextUpdate passed."""

    code = "trust.ocsp.stale"


class OcspUnknownIssuer(OcspError):
    code = "trust.ocsp.unknown_issuer"


class OcspUnavailable(OcspError):
    code = "trust.ocsp.unavailable"


class OcspCertStatus(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class VerifiedOcspStatus:
    """A checked OCSP answer for one certificate; ``response_der`` are the verified bytes."""

    serial: int
    status: OcspCertStatus
    revocation_time: dt.datetime | None
    revocation_reason: str | None
    this_update: dt.datetime
    next_update: dt.datetime | None
    produced_at: dt.datetime
    issuer_fingerprint: str
    responder_cert: x509.Certificate
    response_der: bytes

    def is_fresh(self, at: dt.datetime, freshness_seconds: int, skew: dt.timedelta = DEFAULT_CLOCK_SKEW) -> bool:
        try:
            _check_fresh(self.this_update, self.next_update, require_aware(at), freshness_seconds, skew)
        except OcspStale:
            return False
        return True


# -- helpers -----------------------------------------------------------------


def public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING value (what CertID's issuerKeyHash hashes)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = asn1_keys.PublicKeyInfo.load(spki)
    return bytes(info["public_key"].contents[1:])  # skip the unused-bits octet


def cert_id_hashes(issuer: x509.Certificate, hash_name: str) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of ``issuer`` with the named hash."""
    name_der = issuer.subject.public_bytes()
    return hashlib.new(hash_name, name_der).digest(), hashlib.new(hash_name, public_key_bits(issuer)).digest()


def build_ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, *, nonce: bytes | None = None,
                       hash_algorithm: hashes.SHA1 | hashes.SHA256 = hashes.SHA1()) -> bytes:
    """DER OCSPRequest for one certificate; SHA-1 CertID as responders expect by default."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hash_algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def new_nonce() -> bytes:
    return secrets.token_bytes(16)


def _check_fresh(this_update: dt.datetime, next_update: dt.datetime | None, at: dt.datetime,
                 freshness_seconds: int, skew: dt.timedelta) -> None:
    if this_update > at + skew:
        raise OcspStale(f"OCSP thisUpdate {this_update.isoformat()} lies in the future of {at.isoformat()}")
    if at - this_update > dt.timedelta(seconds=freshness_seconds):
        raise OcspStale(
            f"OCSP response from {this_update.isoformat()} is older than {freshness_seconds} s at {at.isoformat()}"
        )
    if next_update is not None and next_update + skew < at:
        raise OcspStale(f"OCSP nextUpdate {next_update.isoformat()} has passed")


def _same_cert(a: x509.Certificate, b: x509.Certificate) -> bool:
    return cert_der(a) == cert_der(b)


def _signer(response: ocsp.OCSPResponse, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    key_hash = response.responder_key_hash
    name = response.responder_name
    for cert in candidates:
        if key_hash is not None and hashlib.sha1(public_key_bits(cert)).digest() == key_hash:
            return cert
        if name is not None and cert.subject == name:
            return cert
    return None


def _verify_signature(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    public_key = signer.public_key()
    hash_alg = response.signature_hash_algorithm
    if hash_alg is None:
        return False
    if isinstance(public_key, rsa.RSAPublicKey):
        algo = "rsassa_pss" if response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS else "rsassa_pkcs1v15"
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        algo = "ecdsa"
    else:
        return False
    return verify_asn1_signature(public_key, algo, hash_alg.name, response.tbs_response_bytes, response.signature)


# -- verification ------------------------------------------------------------


def verify_ocsp_response(
    response_der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    at: dt.datetime,
    freshness_seconds: int,
    responder_certs: Sequence[x509.Certificate] = (),
    nonce: bytes | None = None,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
) -> VerifiedOcspStatus:
    """Check an OCSP response for ``cert`` issued by ``issuer`` (see the module docstring)."""
    at = require_aware(at)
    try:
        response = ocsp.load_der_ocsp_response(response_der)
    except ValueError as exc:
        raise OcspMalformed(f"OCSP response is not valid DER: {exc}") from exc
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspResponseStatusError(f"OCSP responder answered {response.response_status.name}")
    try:
        embedded = list(response.certificates)
        candidates = [issuer, *responder_certs, *embedded]
        signer = _signer(response, candidates)
        if signer is None:
            raise OcspResponderNotAuthorised("the OCSP response names a signer that is not known")
        configured = any(_same_cert(signer, c) for c in responder_certs)
        delegated = is_issued_by(signer, issuer) and is_ocsp_signer(signer)
        if not (_same_cert(signer, issuer) or configured or delegated):
            raise OcspResponderNotAuthorised(
                "the OCSP signer is neither the CA nor a responder the CA authorised (EKU OCSPSigning)"
            )
        if not signer.not_valid_before_utc - clock_skew <= at <= signer.not_valid_after_utc + clock_skew:
            raise OcspResponderNotAuthorised("the OCSP responder certificate is not valid at this moment")
        if not _verify_signature(response, signer):
            raise OcspSignatureInvalid("the OCSP response signature does not verify")
        single = _single_for(response, cert, issuer)
        if nonce is not None:
            try:
                got = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            except x509.ExtensionNotFound:
                raise OcspNonceMismatch("the OCSP response carries no nonce") from None
            if got != nonce:
                raise OcspNonceMismatch("the OCSP response nonce differs from the request's")
        this_update = single.this_update_utc
        next_update = single.next_update_utc
        _check_fresh(this_update, next_update, at, freshness_seconds, clock_skew)
        status = {
            ocsp.OCSPCertStatus.GOOD: OcspCertStatus.GOOD,
            ocsp.OCSPCertStatus.REVOKED: OcspCertStatus.REVOKED,
            ocsp.OCSPCertStatus.UNKNOWN: OcspCertStatus.UNKNOWN,
        }[single.certificate_status]
        reason = None
        revocation_time = None
        if status is OcspCertStatus.REVOKED:
            revocation_time = single.revocation_time_utc
            reason = single.revocation_reason.value if single.revocation_reason is not None else "unspecified"
        return VerifiedOcspStatus(
            serial=single.serial_number,
            status=status,
            revocation_time=revocation_time,
            revocation_reason=reason,
            this_update=this_update,
            next_update=next_update,
            produced_at=response.produced_at_utc,
            issuer_fingerprint=fingerprint_hex(issuer),
            responder_cert=signer,
            response_der=bytes(response_der),
        )
    except OcspError:
        raise
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # cryptography parses lazily
        # UnsupportedAlgorithm: a signature or key OID it does not know (found by tests/fuzz)
        raise OcspMalformed(f"OCSP response cannot be read: {exc}") from exc


def _single_for(response: ocsp.OCSPResponse, cert: x509.Certificate,
                issuer: x509.Certificate) -> ocsp.OCSPSingleResponse:
    for single in response.responses:
        if single.serial_number != cert.serial_number:
            continue
        name_hash, key_hash = cert_id_hashes(issuer, single.hash_algorithm.name)
        if single.issuer_name_hash == name_hash and single.issuer_key_hash == key_hash:
            return single
    raise OcspCertificateMismatch(f"the OCSP response has no status for certificate {cert.serial_number:x}")


def find_approved_issuer(cert: x509.Certificate, policy: TrustPolicy) -> tuple[ApprovedCa, x509.Certificate]:
    """The approved CA (and its certificate, top or intermediate) that issued ``cert``."""
    for ca in policy.cas:
        issuer = find_issuer(cert, (*ca.intermediates, ca.top_cert))
        if issuer is not None:
            return ca, issuer
    raise OcspUnknownIssuer(f"certificate {cert.serial_number:x} was not issued by a CA approved in {policy.instance}")


def verify_ocsp_for_policy(
    response_der: bytes,
    cert: x509.Certificate,
    policy: TrustPolicy,
    *,
    at: dt.datetime,
    nonce: bytes | None = None,
) -> VerifiedOcspStatus:
    """Verify an OCSP response received from a peer or a container against what
    ``policy`` approves: the CA that issued ``cert`` and its listed responders."""
    ca, issuer = find_approved_issuer(cert, policy)
    responders = tuple(r.cert for r in ca.ocsp_responders if r.cert is not None)
    return verify_ocsp_response(
        response_der, cert, issuer, at=at, freshness_seconds=policy.ocsp_freshness_seconds,
        responder_certs=responders, nonce=nonce,
    )
