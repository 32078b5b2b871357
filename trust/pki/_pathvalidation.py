"""Is this member or gateway certificate acceptable to an instance, at a moment?

X-Road's rules (NOTES 7) are narrower than general PKIX path building: the chain is
the certificate, at most the intermediates an approved CA lists, and that CA's top
certificate; trust anchors come only from the :class:`~trust.pki._approved.TrustPolicy`.
Checks, each with its own error:

1. the certificate is valid at ``at`` (``CertificateExpired``, ``CertificateNotYetValid``);
2. it chains to an approved CA, every signature verifying (``UnknownIssuer``);
3. its usage fits the purpose: *sign* needs nonRepudiation; *auth* needs EKU
   clientAuth or keyUsage digitalSignature (``WrongKeyUsage``);
4. a fresh OCSP answer from an authorised responder says ``good``
   (``OcspMissing``, ``OcspStale``, ``CertificateRevoked``, ``CertificateStatusUnknown``).

Gateways call this for every message, and chain checks halve throughput (DESIGN 5),
so the expensive, time-independent parts (chain signatures, OCSP signature) are
cached per (policy, certificate, OCSP response) in a :class:`ValidationCache`; the
time checks run on every call.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Hashable, Literal

from cryptography import x509
from cryptography.x509 import ocsp as crypto_ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from ._approved import ApprovedCa, TrustPolicy
from ._certs import cert_der, extended_key_usages, is_issued_by, key_usages, require_aware
from trust.errors import TrustError
from ._ocsp import (
    DEFAULT_CLOCK_SKEW, OcspCertStatus, OcspError, OcspStale, VerifiedOcspStatus, verify_ocsp_response,
)


class CertificateValidationError(TrustError):
    code = "trust.cert.validation_failed"


class CertificateExpired(CertificateValidationError):
    code = "trust.cert.expired"


class CertificateNotYetValid(CertificateValidationError):
    code = "trust.cert.not_yet_valid"


class UnknownIssuer(CertificateValidationError):
    code = "trust.cert.unknown_issuer"


class WrongKeyUsage(CertificateValidationError):
    code = "trust.cert.wrong_key_usage"


class CertificateRevoked(CertificateValidationError):
    code = "trust.cert.revoked"


class CertificateStatusUnknown(CertificateValidationError):
    code = "trust.cert.status_unknown"


class OcspMissing(CertificateValidationError):
    code = "trust.cert.ocsp_missing"


class OcspInvalid(CertificateValidationError):
    """The OCSP response given for the certificate failed verification (see ``__cause__``)."""

    code = "trust.cert.ocsp_invalid"


class CertificateStale(CertificateValidationError):
    """The OCSP answer is older than ``ocspFreshnessSeconds`` (or its nextUpdate passed)."""

    code = "trust.cert.ocsp_stale"


class Purpose(enum.Enum):
    SIGN = "sign"
    AUTH = "auth"


@dataclass(frozen=True)
class VerifiedCertificate:
    """A certificate that passed :func:`validate_certificate` for ``purpose`` at ``at``."""

    cert: x509.Certificate
    purpose: Purpose
    ca: ApprovedCa
    chain: tuple[x509.Certificate, ...]  # issuer first, the CA's top certificate last
    ocsp: VerifiedOcspStatus
    at: dt.datetime


@dataclass(frozen=True)
class _Chained:
    ca: ApprovedCa
    chain: tuple[x509.Certificate, ...]
    responders: tuple[x509.Certificate, ...]


class ValidationCache:
    """Bounded, thread-safe memo of chain and OCSP signature checks.

    Keys hold the policy object itself (not its hash), so two policies never share
    an entry by accident.

    It also keeps *decisions* for higher layers (:func:`trust.xades._verify.trust_signature`
    memoises a whole signer decision here): opaque values under keys the caller builds
    from hashes of the immutable inputs; the caller stores with each value the window
    of moments in which it holds and checks it on every hit. ``decision_max_age``
    (seconds) additionally bounds how long after it was made a decision is reused.
    """

    def __init__(self, max_entries: int = 8192, *, decision_max_age: float | None = None) -> None:
        self.max_entries = max_entries
        self.decision_max_age = dt.timedelta(seconds=decision_max_age) if decision_max_age is not None else None
        self._chains: OrderedDict[tuple[TrustPolicy, bytes], _Chained] = OrderedDict()
        self._ocsp: OrderedDict[tuple[TrustPolicy, bytes, bytes], VerifiedOcspStatus] = OrderedDict()
        self._decisions: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def decision(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._decisions.get(key)
            if value is not None:
                self._decisions.move_to_end(key)
            return value

    def put_decision(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._decisions[key] = value
            while len(self._decisions) > self.max_entries:
                self._decisions.popitem(last=False)

    def chain(self, key: tuple[TrustPolicy, bytes]) -> _Chained | None:
        with self._lock:
            value = self._chains.get(key)
            if value is not None:
                self._chains.move_to_end(key)
            return value

    def put_chain(self, key: tuple[TrustPolicy, bytes], value: _Chained) -> None:
        with self._lock:
            self._chains[key] = value
            while len(self._chains) > self.max_entries:
                self._chains.popitem(last=False)

    def ocsp(self, key: tuple[TrustPolicy, bytes, bytes]) -> VerifiedOcspStatus | None:
        with self._lock:
            value = self._ocsp.get(key)
            if value is not None:
                self._ocsp.move_to_end(key)
            return value

    def put_ocsp(self, key: tuple[TrustPolicy, bytes, bytes], value: VerifiedOcspStatus) -> None:
        with self._lock:
            self._ocsp[key] = value
            while len(self._ocsp) > self.max_entries:
                self._ocsp.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._chains.clear()
            self._ocsp.clear()
            self._decisions.clear()


def _chain(cert: x509.Certificate, policy: TrustPolicy) -> _Chained:
    for ca in policy.cas:
        # at most the CA's own intermediates, then its top certificate
        path: list[x509.Certificate] = []
        current = cert
        for _depth in range(len(ca.intermediates) + 1):
            if is_issued_by(current, ca.top_cert):
                path.append(ca.top_cert)
                responders = tuple(r.cert for r in ca.ocsp_responders if r.cert is not None)
                return _Chained(ca, tuple(path), responders)
            nxt = next((i for i in ca.intermediates if i not in path and is_issued_by(current, i)), None)
            if nxt is None:
                break
            path.append(nxt)
            current = nxt
    raise UnknownIssuer(
        f"certificate {cert.serial_number:x} ({cert.issuer.rfc4514_string()}) does not chain to a CA "
        f"approved in {policy.instance}"
    )


def _check_usage(cert: x509.Certificate, purpose: Purpose) -> None:
    usages = key_usages(cert)
    if purpose is Purpose.SIGN:
        if "content_commitment" not in usages:
            raise WrongKeyUsage("a signing certificate needs the nonRepudiation key usage")
        return
    ekus = extended_key_usages(cert)
    if ExtendedKeyUsageOID.CLIENT_AUTH in ekus or "digital_signature" in usages:
        if ekus and ExtendedKeyUsageOID.CLIENT_AUTH not in ekus and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus:
            raise WrongKeyUsage("an authentication certificate's extended key usage must allow clientAuth")
        return
    raise WrongKeyUsage("an authentication certificate needs EKU clientAuth or the digitalSignature key usage")


def validate_certificate(
    cert: x509.Certificate,
    policy: TrustPolicy,
    *,
    at: dt.datetime,
    ocsp: bytes | VerifiedOcspStatus | None,
    purpose: Literal["sign", "auth"] | Purpose,
    cache: ValidationCache | None = None,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    chain_ocsp: Sequence[bytes | VerifiedOcspStatus] | None = None,
) -> VerifiedCertificate:
    """Validate ``cert`` for ``purpose`` under ``policy`` at ``at`` (see the module docstring).

    ``chain_ocsp``: X-Road demands a good, fresh OCSP answer for every certificate of
    the chain except the CA's top certificate, so intermediates too. Pass the
    responses that came with the message (in any order) to check the intermediates
    as well; ``None`` checks the end-entity certificate only.
    """
    at = require_aware(at)
    purpose = Purpose(purpose) if not isinstance(purpose, Purpose) else purpose
    if at < cert.not_valid_before_utc:
        raise CertificateNotYetValid(f"certificate {cert.serial_number:x} is valid only from "
                                     f"{cert.not_valid_before_utc.isoformat()}")
    if at > cert.not_valid_after_utc:
        raise CertificateExpired(f"certificate {cert.serial_number:x} expired at {cert.not_valid_after_utc.isoformat()}")

    der = cert_der(cert)
    chain_key = (policy, der)
    chained = cache.chain(chain_key) if cache is not None else None
    if chained is None:
        chained = _chain(cert, policy)
        if cache is not None:
            cache.put_chain(chain_key, chained)
    _check_usage(cert, purpose)
    for ca_cert in chained.chain:
        if not ca_cert.not_valid_before_utc <= at <= ca_cert.not_valid_after_utc:
            raise CertificateExpired(f"CA certificate {ca_cert.subject.rfc4514_string()} is not valid at {at.isoformat()}")

    status = _ocsp_status(cert, der, chained.chain[0], chained.responders, policy, ocsp, at, cache, clock_skew)
    _require_good(cert, status)
    if chain_ocsp is not None:
        for index, intermediate in enumerate(chained.chain[:-1]):
            issuer = chained.chain[index + 1]
            found = _pick(intermediate, issuer, chain_ocsp)
            if found is None:
                raise OcspMissing(f"no OCSP response for intermediate CA {intermediate.subject.rfc4514_string()}")
            inter_status = _ocsp_status(intermediate, cert_der(intermediate), issuer, chained.responders, policy,
                                        found, at, cache, clock_skew)
            _require_good(intermediate, inter_status)
    return VerifiedCertificate(cert, purpose, chained.ca, chained.chain, status, at)


def _require_good(cert: x509.Certificate, status: VerifiedOcspStatus) -> None:
    if status.status is OcspCertStatus.REVOKED:
        when = status.revocation_time.isoformat() if status.revocation_time else "an unknown time"
        raise CertificateRevoked(
            f"certificate {cert.serial_number:x} was revoked at {when} ({status.revocation_reason or 'unspecified'})"
        )
    if status.status is OcspCertStatus.UNKNOWN:
        raise CertificateStatusUnknown(f"the OCSP responder does not know certificate {cert.serial_number:x}")


def _pick(subject: x509.Certificate, issuer: x509.Certificate,
          candidates: Sequence[bytes | VerifiedOcspStatus]) -> bytes | VerifiedOcspStatus | None:
    """The candidate that speaks about ``subject`` (by serial; the full check follows)."""
    issuer_fp = hashlib.sha256(cert_der(issuer)).hexdigest()
    for candidate in candidates:
        if isinstance(candidate, VerifiedOcspStatus):
            if candidate.serial == subject.serial_number and candidate.issuer_fingerprint == issuer_fp:
                return candidate
            continue
        try:
            parsed = crypto_ocsp.load_der_ocsp_response(candidate)
            if parsed.response_status is not crypto_ocsp.OCSPResponseStatus.SUCCESSFUL:
                continue
            if any(single.serial_number == subject.serial_number for single in parsed.responses):
                return candidate
        except ValueError:
            continue
    return None


def _ocsp_status(
    cert: x509.Certificate,
    der: bytes,
    issuer: x509.Certificate,
    responders: tuple[x509.Certificate, ...],
    policy: TrustPolicy,
    ocsp: bytes | VerifiedOcspStatus | None,
    at: dt.datetime,
    cache: ValidationCache | None,
    skew: dt.timedelta,
) -> VerifiedOcspStatus:
    if ocsp is None:
        raise OcspMissing(f"no OCSP response for certificate {cert.serial_number:x}")
    if isinstance(ocsp, VerifiedOcspStatus):
        if ocsp.serial != cert.serial_number or ocsp.issuer_fingerprint != hashlib.sha256(cert_der(issuer)).hexdigest():
            raise OcspInvalid(f"the OCSP status given is not about certificate {cert.serial_number:x}")
        status = ocsp
    else:
        key = (policy, der, hashlib.sha256(ocsp).digest())
        cached = cache.ocsp(key) if cache is not None else None
        if cached is not None:
            status = cached
        else:
            try:
                # freshness is checked below for every call, so verify with an unbounded window here
                status = verify_ocsp_response(ocsp, cert, issuer, at=at, freshness_seconds=10**9,
                                              responder_certs=responders, clock_skew=skew)
            except OcspError as exc:
                raise OcspInvalid(f"OCSP response for certificate {cert.serial_number:x} is not acceptable: {exc}") from exc
            if cache is not None:
                cache.put_ocsp(key, status)
    if not status.is_fresh(at, policy.ocsp_freshness_seconds, skew):
        raise CertificateStale(
            f"OCSP response from {status.this_update.isoformat()} is not fresh at {at.isoformat()} "
            f"(ocspFreshnessSeconds {policy.ocsp_freshness_seconds})"
        )
    return status


__all__ = [
    "CertificateExpired", "CertificateNotYetValid", "CertificateRevoked", "CertificateStale",
    "CertificateStatusUnknown", "CertificateValidationError", "OcspInvalid", "OcspMissing", "OcspStale",
    "Purpose", "UnknownIssuer", "ValidationCache", "VerifiedCertificate", "WrongKeyUsage", "validate_certificate",
]
