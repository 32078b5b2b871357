"""Errors of message signatures, hash chains, timestamps and ASiC containers.

Each leaf has a stable code under ``trust.signature.*`` (the XAdES signature and
everything it covers), ``trust.evidence._signature_timestamp.*`` (timestamps over signatures) or
``trust.evidence._asic.*`` (the container around them), so a verifier's caller -- the gateway's
provider-side check, the message log, ``sild asic verify`` -- can tell a tampered
message from an expired OCSP response without parsing messages.
"""

from __future__ import annotations

from trust.errors import TrustError


class SignatureError(TrustError):
    """A message signature could not be verified."""

    code = "trust.signature.invalid"


class SignatureMalformed(SignatureError):
    """The signature XML does not have the structure X-Road's profile requires."""

    code = "trust.signature.malformed"


class MissingReference(SignatureError):
    """The signature does not cover the data it must cover (message or hash-chain result)."""

    code = "trust.signature.missing_reference"


class DigestMismatch(SignatureError):
    """A reference's digest differs from the digest of the bytes it points at."""

    code = "trust.signature.digest_mismatch"


class BadSignatureValue(SignatureError):
    """The SignatureValue does not verify over SignedInfo with the signer's public key."""

    code = "trust.signature.bad_value"


class SignerMismatch(SignatureError):
    """The signer certificate does not belong to the member that claims to have signed."""

    code = "trust.signature.signer_mismatch"


class UntrustedChain(SignatureError):
    """The signer certificate does not chain to an approved CA, or was not valid then."""

    code = "trust.signature.untrusted_chain"


class CertificateUsage(SignatureError):
    """The signer certificate may not make signatures (no nonRepudiation, auth-only CA)."""

    code = "trust.signature.certificate_usage"


class OcspMissing(SignatureError):
    code = "trust.signature.ocsp_missing"


class OcspInvalid(SignatureError):
    """The OCSP response is not signed by a responder the CA approved, or is malformed."""

    code = "trust.signature.ocsp_invalid"


class OcspRevoked(SignatureError):
    code = "trust.signature.revoked"


class OcspStale(SignatureError):
    """The OCSP response was older than ``ocspFreshnessSeconds`` when the signature was made."""

    code = "trust.signature.ocsp_stale"


class HashChainBroken(SignatureError):
    """A hash chain does not compute to its result, or a data reference does not match its data."""

    code = "trust.signature.hash_chain_broken"


class HashChainUnusedInput(HashChainBroken):
    """An input that the chain must cover (the message) is not referenced by it."""

    code = "trust.signature.hash_chain_unused_input"


class UnknownCertificateProfile(SignatureError):
    code = "trust.signature.unknown_certificate_profile"


class EvidenceError(TrustError):
    """A timestamp over signatures is missing, malformed or does not verify."""

    code = "trust.evidence.invalid"


class TimestampMismatch(EvidenceError):
    """The timestamp token does not stamp the data it is attached to."""

    code = "trust.evidence.timestamp_mismatch"


class TimestampUntrusted(EvidenceError):
    """The timestamp token is not signed by an approved TSA (or does not verify)."""

    code = "trust.evidence.timestamp_untrusted"


class AsicError(TrustError):
    """An ASiC-E container is not well formed."""

    code = "trust.asic.invalid"


class AsicMissingEntry(AsicError):
    code = "trust.asic.missing_entry"


class AsicUnsignedEntry(AsicError):
    """The container carries data (a hash chain, a message) that no signature or timestamp covers."""

    code = "trust.asic.unsigned_entry"


class AsicUnknownInstance(AsicError):
    """No trust policy was given for the instance of the signer."""

    code = "trust.asic.unknown_instance"
