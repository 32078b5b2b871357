"""Verifying an X-Road message signature against what an instance trusts.

:func:`verify_signature` is what the provider gateway runs on every request, what the
consumer runs on every response, and what :mod:`trust.evidence._asic` runs on evidence years
later. In order it checks:

1. structure and cryptography (:mod:`trust.xades._parse`): every reference digest over
   the exact bytes, then the SignatureValue;
2. that the signature covers the message -- directly (``/message.xml``) or through a
   signed hash chain (``/sig-hashchainresult.xml``) that reaches it -- and every other
   input the caller says is signed;
3. that the signer certificate chains to an approved CA of the signer's instance and
   was valid at the moment of verification (``at``: now for live traffic, the signing
   time or timestamp for evidence);
4. that the certificate, under the CA's certificate profile, names the member that
   claims to have signed;
5. that an OCSP response from the CA's responder said "good" and was fresh then.

Success returns :class:`VerifiedSignature`, which carries the verified bytes;
downstream code uses those, never its input (DESIGN 6.4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Mapping

from cryptography import x509

from trust.pki import TrustPolicy
from trust.pki import require_aware
from ._hashchain import SIG_HASH_CHAIN, SIG_HASH_CHAIN_RESULT, VerifiedHashChain, verify_hash_chain
from trust.protocol import ClientId, MemberId
from ._layout import MESSAGE_URI
from ._errors import MissingReference, SignatureError, SignerMismatch
from ._profile import signer_matches, signer_member
from ._parse import ParsedSignature, check_references_and_value, parse_signature
from trust.pki import DEFAULT_CLOCK_SKEW, VerifiedOcspStatus
from trust.pki import ValidationCache, VerifiedCertificate
from ._pki import validate_signer


@dataclass(frozen=True)
class VerifiedSignature:
    """A message signature that verified; only exists after every check passed."""

    signature_xml: bytes
    message: bytes
    parts: Mapping[str, bytes]
    signer: MemberId | None
    signer_certificate: x509.Certificate
    signing_time: dt.datetime
    ocsp: VerifiedOcspStatus
    hash_chain: VerifiedHashChain | None
    ca_name: str
    verified_at: dt.datetime
    parsed: ParsedSignature

    @property
    def ocsp_status(self) -> str:
        return self.ocsp.status.value


def check_cryptography(
    signature_xml: bytes,
    parts: Mapping[str, bytes],
    *,
    hash_chain_result: bytes | None = None,
    hash_chain: bytes | None = None,
    message_uri: str = MESSAGE_URI,
) -> tuple[ParsedSignature, VerifiedHashChain | None]:
    """Steps 1-2 only: the signature is intact and covers ``parts`` (no trust decision)."""
    parsed = parse_signature(signature_xml)
    if message_uri not in parts:
        raise MissingReference(f"the signed message {message_uri} was not given")
    entries: dict[str, bytes] = dict(parts)
    if hash_chain_result is not None:
        entries[SIG_HASH_CHAIN_RESULT] = hash_chain_result
    if hash_chain is not None:
        entries[SIG_HASH_CHAIN] = hash_chain
    covered = set(parsed.external_uris())
    chain: VerifiedHashChain | None = None
    if SIG_HASH_CHAIN_RESULT in covered:
        # the chain first: a chain that skips the message is the more telling reason
        if hash_chain_result is None:
            raise MissingReference("signature covers a hash chain result that was not given")
        chain = verify_hash_chain(hash_chain_result, entries.get, required=[message_uri], what="signature hash chain")
        covered |= chain.covered
    check_references_and_value(parsed, entries.get)
    if message_uri not in covered:
        raise MissingReference(f"signature does not cover {message_uri}")
    uncovered = sorted(set(parts) - covered)
    if uncovered:
        raise MissingReference(f"signature does not cover {', '.join(uncovered)}")
    return parsed, chain


def verify_signature(
    signature_xml: bytes,
    parts: Mapping[str, bytes],
    *,
    policy: TrustPolicy,
    signer: ClientId | None,
    at: dt.datetime | None = None,
    hash_chain_result: bytes | None = None,
    hash_chain: bytes | None = None,
    message_uri: str = MESSAGE_URI,
    cache: ValidationCache | None = None,
) -> VerifiedSignature:
    """Verify a message signature over ``parts`` (URI -> exact bytes) for ``policy``.

    ``signer`` is the client (request) or service provider (response) that claims to
    have signed; its *member* must own the certificate. ``None`` skips only that check
    (``sign-0.xml`` style vectors whose test PKI names no member). ``at`` defaults to
    the signing time stated in the signature -- right for evidence; a live gateway
    passes its clock.
    """
    parsed, chain = check_cryptography(
        signature_xml, parts, hash_chain_result=hash_chain_result, hash_chain=hash_chain, message_uri=message_uri
    )
    return trust_signature(
        parsed, chain, parts, policy=policy, signer=signer, at=at, message_uri=message_uri,
        cache=cache,
    )


@dataclass(frozen=True)
class _SignerDecision:
    """A signer decision (steps 3-5) that holds for every moment in [not_before, not_after].

    Everything steps 3-5 decide is fixed by the policy, the certificate, the OCSP
    response and the claimed signer, except the moment: the certificate's, its CA
    chain's and the OCSP responder's validity periods and the OCSP response's freshness
    window (thisUpdate, ocspFreshnessSeconds, nextUpdate, clock skew). The intersection
    of those intervals is where a new check at another moment must give the same answer.
    """

    policy: TrustPolicy  # held so its id in the key cannot be reused by another policy
    member: MemberId | None
    ocsp: VerifiedOcspStatus
    ca_name: str
    decided_at: dt.datetime
    not_before: dt.datetime
    not_after: dt.datetime


def _identity(data: bytes) -> bytes | tuple[str, bytes]:
    """``data`` itself as a memo key, or its SHA-256 when large.

    The exact bytes, not a hash, in the common case: the parser hands out the same
    memoised bytes objects for repeated input, whose hash Python keeps, so the key costs
    nothing to build. Large inputs are keyed by their SHA-256 so an entry stays small.
    """
    return data if len(data) <= 16384 else ("sha256", hashlib.sha256(data).digest())


def _window(verified: VerifiedCertificate, freshness_seconds: int,
            skew: dt.timedelta = DEFAULT_CLOCK_SKEW) -> tuple[dt.datetime, dt.datetime]:
    """The moments at which :func:`validate_signer` gives the same answer as at ``verified.at``.

    Mirrors the time checks of :func:`trust.pki._pathvalidation.validate_certificate` and
    :func:`trust.pki._ocsp.verify_ocsp_response` (all bounds inclusive, as theirs are).
    """
    status = verified.ocsp
    starts = [verified.cert.not_valid_before_utc, status.this_update - skew,
              status.responder_cert.not_valid_before_utc - skew]
    ends = [verified.cert.not_valid_after_utc, status.this_update + dt.timedelta(seconds=freshness_seconds),
            status.responder_cert.not_valid_after_utc + skew]
    if status.next_update is not None:
        ends.append(status.next_update + skew)
    for ca_cert in verified.chain:
        starts.append(ca_cert.not_valid_before_utc)
        ends.append(ca_cert.not_valid_after_utc)
    return max(starts), min(ends)


def trust_signature(
    parsed: ParsedSignature,
    chain: VerifiedHashChain | None,
    parts: Mapping[str, bytes],
    *,
    policy: TrustPolicy,
    signer: ClientId | None,
    at: dt.datetime | None = None,
    message_uri: str = MESSAGE_URI,
    cache: ValidationCache | None = None,
) -> VerifiedSignature:
    """Steps 3-5 on a signature whose cryptography :func:`check_cryptography` accepted.

    With a ``cache``, the decision is memoised under (policy, the certificate DER, the
    OCSP responses, claimed signer -- see :func:`_identity`) together with the window of
    moments in which it holds (:class:`_SignerDecision`); a hit outside that window, or
    for another policy object, is decided afresh. Only successes are memoised.
    """
    moment = require_aware(at, "verification time") if at is not None else parsed.signing_time
    key: tuple[object, ...] | None = None
    if cache is not None:
        key = ("xades.signer", id(policy), _identity(parsed.certificate_bytes),
               tuple(_identity(o) for o in parsed.ocsp_responses), signer)
        hit = cache.decision(key)
        if (isinstance(hit, _SignerDecision) and hit.policy is policy and hit.not_before <= moment <= hit.not_after
                and (cache.decision_max_age is None or abs(moment - hit.decided_at) <= cache.decision_max_age)):
            return VerifiedSignature(
                signature_xml=parsed.signature_xml, message=parts[message_uri], parts=dict(parts),
                signer=hit.member, signer_certificate=parsed.certificate, signing_time=parsed.signing_time,
                ocsp=hit.ocsp, hash_chain=chain, ca_name=hit.ca_name, verified_at=moment, parsed=parsed,
            )
    cert = parsed.certificate
    verified = validate_signer(cert, policy, parsed.ocsp_responses, at=moment, cache=cache)
    ca = verified.ca
    member: MemberId | None
    if signer is not None:
        if signer.instance != policy.instance:
            raise SignerMismatch(f"signer {signer.to_text()} is not of instance {policy.instance}")
        signer_matches(cert, ca.certificate_profile, signer.member)
        member = signer.member
    else:
        try:
            member = signer_member(cert, ca.certificate_profile, policy.instance)
        except SignatureError:
            member = None  # the subject names no member under this profile
    status = verified.ocsp
    if cache is not None and key is not None and status.response_der == parsed.ocsp_responses[0]:
        # only when the first response was the one accepted: no earlier response was
        # passed over for a reason that might depend on the moment
        not_before, not_after = _window(verified, policy.ocsp_freshness_seconds)
        cache.put_decision(key, _SignerDecision(policy, member, status, ca.name, moment, not_before, not_after))
    return VerifiedSignature(
        signature_xml=parsed.signature_xml,
        message=parts[message_uri],
        parts=dict(parts),
        signer=member,
        signer_certificate=cert,
        signing_time=parsed.signing_time,
        ocsp=status,
        hash_chain=chain,
        ca_name=ca.name,
        verified_at=moment,
        parsed=parsed,
    )
