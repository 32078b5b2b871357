"""The PKI checks a message signature needs, at one call site each.

Signature verification needs three answers from the PKI: does the signer certificate
chain to an approved CA (and which one, for its certificate profile), what did the
CA's OCSP responder say about it, and is a timestamp token from an approved TSA.
Path validation and OCSP are :func:`trust.pki._pathvalidation.validate_certificate`'s,
timestamp tokens :func:`trust.evidence._timestamp.verify_timestamp_token`'s; this module only picks
the inputs out of a signature and maps their errors onto ``trust.signature.*`` and
``trust.evidence._signature_timestamp.*``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Sequence

from cryptography import x509

from trust.pki import (
    CertificateRevoked, CertificateStale, CertificateStatusUnknown, CertificateValidationError,
    OcspInvalid as ChainOcspInvalid, OcspMissing as ChainOcspMissing, TrustPolicy, ValidationCache,
    VerifiedCertificate, WrongKeyUsage, validate_certificate,
)
from trust.evidence import TimestampError, VerifiedTimestamp, verify_timestamp_token
from ._errors import (
    CertificateUsage, OcspInvalid, OcspMissing, OcspRevoked, OcspStale, SignatureError, TimestampMismatch,
    TimestampUntrusted, UntrustedChain,
)


def validate_signer(
    cert: x509.Certificate,
    policy: TrustPolicy,
    ocsp_responses: Sequence[bytes],
    *,
    at: dt.datetime,
    cache: ValidationCache | None = None,
) -> VerifiedCertificate:
    """Validate a sign certificate at ``at`` with one of the OCSP responses the signature carries.

    Path validation and OCSP are :func:`trust.pki._pathvalidation.validate_certificate`'s;
    this maps its errors onto the ``trust.signature.*`` leaves callers of signature
    verification rely on.
    """
    if not ocsp_responses:
        raise OcspMissing("the signature carries no OCSP response for its certificate")
    last: CertificateValidationError | None = None
    for der in ocsp_responses:
        try:
            verified = validate_certificate(cert, policy, at=at, ocsp=der, purpose="sign", cache=cache)
        except ChainOcspInvalid as exc:  # maybe a response about another certificate of the chain
            last = exc
            continue
        except CertificateValidationError as exc:
            raise _translate(exc) from exc
        if verified.ca.authentication_only:
            raise CertificateUsage(f"CA {verified.ca.name} is approved for authentication certificates only")
        return verified
    assert last is not None
    raise _translate(last) from last


#: what a certificate-validation failure means for a signature, by the failure's code
_SIGNATURE_ERRORS: Mapping[str, type[SignatureError]] = MappingProxyType({
    CertificateRevoked.code: OcspRevoked,
    CertificateStale.code: OcspStale,
    ChainOcspMissing.code: OcspMissing,
    ChainOcspInvalid.code: OcspInvalid,
    CertificateStatusUnknown.code: OcspInvalid,
    WrongKeyUsage.code: CertificateUsage,
})


def _translate(exc: CertificateValidationError) -> SignatureError:
    """The signature error for ``exc``: by its codes (:meth:`~trust.errors.SildError.codes`), else an untrusted chain."""
    message = f"{exc} [{exc.code}]"
    target = next((_SIGNATURE_ERRORS[code] for code in exc.codes() if code in _SIGNATURE_ERRORS), UntrustedChain)
    return target(message)


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
