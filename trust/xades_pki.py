"""The PKI checks a message signature needs, at one call site each.

Signature verification needs three answers from the PKI: does the signer certificate
chain to an approved CA (and which one, for its certificate profile), what did the
CA's OCSP responder say about it, and is a timestamp token from an approved TSA.
Path validation (``trust.pathvalidation``) and OCSP verification (``trust.ocsp``) are
owned by other modules; until they are available these functions hold a minimal,
strict implementation so that switching is a one-line change per function.
Timestamp tokens already go through :func:`trust.tsa.verify_timestamp_token`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from .algorithms import DigestAlgorithm
from .approved import ApprovedCa, TrustPolicy
from .certs import is_issued_by, is_valid_at, verify_asn1_signature
from .tsa import TimestampError, VerifiedTimestamp, verify_timestamp_token
from .xades_errors import (
    OcspInvalid,
    OcspMissing,
    OcspRevoked,
    OcspStale,
    TimestampMismatch,
    TimestampUntrusted,
    UntrustedChain,
)

_MAX_CHAIN = 8
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OcspStatus:
    """What the approved responder said about a certificate, and when."""

    status: str  # "good"
    produced_at: dt.datetime
    this_update: dt.datetime
    responder: x509.Certificate | None
    response_der: bytes


def validate_signer_chain(
    cert: x509.Certificate,
    policy: TrustPolicy,
    *,
    at: dt.datetime,
    extra: Sequence[x509.Certificate] = (),
) -> tuple[ApprovedCa, tuple[x509.Certificate, ...]]:
    """Chain ``cert`` to an approved, signing-capable CA of ``policy``, valid at ``at``.

    Returns the CA and the path (signer first, top CA last).
    """
    for ca in policy.cas:
        if ca.authentication_only:
            continue
        pool = list(ca.intermediates) + list(extra) + [ca.top_cert]
        path = [cert]
        current = cert
        while len(path) <= _MAX_CHAIN:
            if current == ca.top_cert or _issued_by(current, ca.top_cert):
                if current != ca.top_cert:
                    path.append(ca.top_cert)
                break
            issuer = _find_issuer(current, [c for c in pool if c not in path])
            if issuer is None:
                path = []
                break
            path.append(issuer)
            current = issuer
        else:
            path = []
        if not path:
            continue
        for member in path:
            if not is_valid_at(member, at):
                raise UntrustedChain(
                    f"certificate {member.subject.rfc4514_string()} was not valid at {at.isoformat()}"
                )
        return ca, tuple(path)
    if any(ca.authentication_only for ca in policy.cas if _chains_to(cert, ca, extra)):
        raise UntrustedChain("the signer's CA is approved for authentication only")
    raise UntrustedChain(f"signer certificate {cert.subject.rfc4514_string()} does not chain to an approved CA of {policy.instance}")


_SHA1_CERTIFICATES_UNTIL = dt.datetime(2017, 1, 1, tzinfo=dt.timezone.utc)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Name match and signature check; SHA-1 signed certificates count only if issued before 2017.

    Evidence outlives algorithms: X-Road's own test PKI (``sign-0.xml``) and old
    message logs hold SHA-1 signed certificates that were acceptable when issued.
    """
    if is_issued_by(cert, issuer):
        return True
    if cert.issuer != issuer.subject or cert.not_valid_before_utc >= _SHA1_CERTIFICATES_UNTIL:
        return False
    if not isinstance(cert.signature_hash_algorithm, hashes.SHA1):
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _find_issuer(cert: x509.Certificate, pool: Sequence[x509.Certificate]) -> x509.Certificate | None:
    for candidate in pool:
        if _issued_by(cert, candidate):
            return candidate
    return None


def _chains_to(cert: x509.Certificate, ca: ApprovedCa, extra: Sequence[x509.Certificate]) -> bool:
    return _find_issuer(cert, list(ca.intermediates) + list(extra) + [ca.top_cert]) is not None


def check_ocsp(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    ca: ApprovedCa,
    responses: Sequence[bytes],
    policy: TrustPolicy,
    *,
    at: dt.datetime,
) -> OcspStatus:
    """Find the OCSP response for ``cert`` and check it against ``ca``'s responders.

    Freshness is judged at ``at`` (the moment the signature was made): the response
    must not be older than ``ocspFreshnessSeconds`` then, nor produced after it.
    """
    if not responses:
        raise OcspMissing("the signature carries no OCSP response for its certificate")
    errors: list[str] = []
    for der in responses:
        try:
            return _check_one(cert, issuer, ca, der, policy, at)
        except (OcspRevoked, OcspStale):
            raise
        except OcspInvalid as exc:
            errors.append(str(exc))
    raise OcspInvalid("no valid OCSP response for the signer certificate: " + "; ".join(errors))


def _check_one(
    cert: x509.Certificate, issuer: x509.Certificate, ca: ApprovedCa, der: bytes, policy: TrustPolicy, at: dt.datetime
) -> OcspStatus:
    try:
        response = asn1_ocsp.OCSPResponse.load(der)
        if response["response_status"].native != "successful":
            raise OcspInvalid(f"OCSP response status is {response['response_status'].native}")
        basic = response["response_bytes"]["response"].parsed
        tbs = basic["tbs_response_data"]
        singles = list(tbs["responses"])
    except (ValueError, KeyError, TypeError) as exc:
        raise OcspInvalid(f"OCSP response is malformed: {exc}") from exc
    issuer_key = issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    from asn1crypto import keys as asn1_keys

    key_bits = asn1_keys.PublicKeyInfo.load(issuer_key)["public_key"].contents[1:]
    issuer_name = issuer.subject.public_bytes()
    single = None
    for candidate in singles:
        cid = candidate["cert_id"]
        alg = cid["hash_algorithm"]["algorithm"].native
        try:
            digest = DigestAlgorithm.from_name(alg)
        except Exception:  # noqa: BLE001 - an unknown hash cannot match
            continue
        if (
            cid["serial_number"].native == cert.serial_number
            and cid["issuer_name_hash"].native == digest.digest(issuer_name)
            and cid["issuer_key_hash"].native == digest.digest(key_bits)
        ):
            single = candidate
            break
    if single is None:
        raise OcspInvalid("OCSP response is not about the signer certificate")
    responder = _responder(basic, issuer, ca)
    sig_alg = basic["signature_algorithm"]
    if not verify_asn1_signature(
        responder.public_key(), sig_alg.signature_algo, sig_alg.hash_algo, tbs.dump(), basic["signature"].native
    ):
        raise OcspInvalid("OCSP response signature does not verify")
    produced_at = tbs["produced_at"].native
    this_update = single["this_update"].native
    status = single["cert_status"].name
    if status == "revoked":
        raise OcspRevoked(f"the signer certificate was revoked (OCSP produced {produced_at.isoformat()})")
    if status != "good":
        raise OcspInvalid(f"OCSP status of the signer certificate is {status}")
    if this_update > at + _CLOCK_SKEW:
        raise OcspStale(f"OCSP response dates from {this_update.isoformat()}, after the signature at {at.isoformat()}")
    if (at - this_update).total_seconds() > policy.ocsp_freshness_seconds:
        raise OcspStale(
            f"OCSP response from {this_update.isoformat()} was older than {policy.ocsp_freshness_seconds} s at {at.isoformat()}"
        )
    return OcspStatus("good", produced_at, this_update, responder, bytes(der))


def _responder(basic: asn1_ocsp.BasicOCSPResponse, issuer: x509.Certificate, ca: ApprovedCa) -> x509.Certificate:
    rid = basic["tbs_response_data"]["responder_id"]
    embedded = [x509.load_der_x509_certificate(c.dump()) for c in (basic["certs"] or [])]
    approved = [r.cert for r in ca.ocsp_responders if r.cert is not None]
    candidates = [issuer] + approved + embedded

    def named(c: x509.Certificate) -> bool:
        if rid.name == "by_name":
            return bool(asn1_x509.Name.load(c.subject.public_bytes()) == rid.chosen)
        key = c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        from asn1crypto import keys as asn1_keys

        bits = asn1_keys.PublicKeyInfo.load(key)["public_key"].contents[1:]
        return bool(DigestAlgorithm.SHA1.digest(bits) == rid.chosen.native)

    for cand in candidates:
        if not named(cand):
            continue
        if cand == issuer or cand in approved:
            return cand
        try:
            eku = cand.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in eku and _issued_by(cand, issuer):
            return cand
    raise OcspInvalid("OCSP response is not signed by the CA or one of its approved responders")


def verify_tsa_token(
    token_der: bytes, policy: TrustPolicy, *, data: bytes, at: dt.datetime | None = None
) -> VerifiedTimestamp:
    """Verify an RFC 3161 token over ``data`` against the approved TSAs of ``policy``."""
    certs = [tsa.cert for tsa in policy.tsas]
    if not certs:
        raise TimestampUntrusted(f"instance {policy.instance} approves no timestamping authority")
    try:
        return verify_timestamp_token(token_der, data=data, tsa_certs=certs, at=at)
    except TimestampError as exc:
        if exc.code == "trust.tsa.imprint_mismatch":
            raise TimestampMismatch(f"timestamp does not stamp this data: {exc}") from exc
        raise TimestampUntrusted(f"timestamp token does not verify: {exc} [{exc.code}]") from exc
