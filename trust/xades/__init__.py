"""XAdES signatures of X-Road messages, and hash chains for batches.

Signing (``signature/bdoc-1.0/ts``), parsing and verifying the signature document,
and the hash chains that let one signature (or one timestamp) cover many messages.
Verification returns types that only exist after the check ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._errors import (
        AsicError, AsicMissingEntry, AsicUnknownInstance, AsicUnsignedEntry, BadSignatureValue,
        CertificateUsage, DigestMismatch, EvidenceError, HashChainBroken, MissingReference, OcspInvalid,
        OcspMissing, OcspRevoked, OcspStale, SignatureError, SignatureMalformed, SignerMismatch,
        UnknownCertificateProfile, UntrustedChain,
    )
    from ._hashchain import (
        HashChainInput, SIG_HASH_CHAIN, SIG_HASH_CHAIN_RESULT, TS_HASH_CHAIN, TS_HASH_CHAIN_RESULT,
        build_hash_chains, verify_hash_chain,
    )
    from ._parse import parse_signature
    from ._pki import verify_tsa_token
    from ._profile import BASIC, DEFAULT, EJBCA, FIVRK, SK_KLASS3, signer_matches, signer_member
    from ._sign import BatchSignature, SignedPart, create_signature, sign_batch
    from ._verify import VerifiedSignature, check_cryptography, trust_signature, verify_signature

__all__ = [
    "AsicError",
    "AsicMissingEntry",
    "AsicUnknownInstance",
    "AsicUnsignedEntry",
    "BASIC",
    "BadSignatureValue",
    "BatchSignature",
    "CertificateUsage",
    "DEFAULT",
    "DigestMismatch",
    "EJBCA",
    "EvidenceError",
    "FIVRK",
    "HashChainBroken",
    "HashChainInput",
    "MissingReference",
    "OcspInvalid",
    "OcspMissing",
    "OcspRevoked",
    "OcspStale",
    "SIG_HASH_CHAIN",
    "SIG_HASH_CHAIN_RESULT",
    "SK_KLASS3",
    "SignatureError",
    "SignatureMalformed",
    "SignedPart",
    "SignerMismatch",
    "TS_HASH_CHAIN",
    "TS_HASH_CHAIN_RESULT",
    "UnknownCertificateProfile",
    "UntrustedChain",
    "VerifiedSignature",
    "build_hash_chains",
    "check_cryptography",
    "create_signature",
    "parse_signature",
    "sign_batch",
    "signer_matches",
    "signer_member",
    "trust_signature",
    "verify_hash_chain",
    "verify_signature",
    "verify_tsa_token",
]

__getattr__, __dir__ = attach(__name__, {
    "AsicError": "._errors",
    "AsicMissingEntry": "._errors",
    "AsicUnknownInstance": "._errors",
    "AsicUnsignedEntry": "._errors",
    "BASIC": "._profile",
    "BadSignatureValue": "._errors",
    "BatchSignature": "._sign",
    "CertificateUsage": "._errors",
    "DEFAULT": "._profile",
    "DigestMismatch": "._errors",
    "EJBCA": "._profile",
    "EvidenceError": "._errors",
    "FIVRK": "._profile",
    "HashChainBroken": "._errors",
    "HashChainInput": "._hashchain",
    "MissingReference": "._errors",
    "OcspInvalid": "._errors",
    "OcspMissing": "._errors",
    "OcspRevoked": "._errors",
    "OcspStale": "._errors",
    "SIG_HASH_CHAIN": "._hashchain",
    "SIG_HASH_CHAIN_RESULT": "._hashchain",
    "SK_KLASS3": "._profile",
    "SignatureError": "._errors",
    "SignatureMalformed": "._errors",
    "SignedPart": "._sign",
    "SignerMismatch": "._errors",
    "TS_HASH_CHAIN": "._hashchain",
    "TS_HASH_CHAIN_RESULT": "._hashchain",
    "UnknownCertificateProfile": "._errors",
    "UntrustedChain": "._errors",
    "VerifiedSignature": "._verify",
    "build_hash_chains": "._hashchain",
    "check_cryptography": "._verify",
    "create_signature": "._sign",
    "parse_signature": "._parse",
    "sign_batch": "._sign",
    "signer_matches": "._profile",
    "signer_member": "._profile",
    "trust_signature": "._verify",
    "verify_hash_chain": "._hashchain",
    "verify_signature": "._verify",
    "verify_tsa_token": "._pki",
})
