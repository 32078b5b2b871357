"""The certificate authority's vocabulary: its errors, certificate kinds and revocation reasons.

Shared by the CA (:mod:`._ca`), the certificate profiles it issues under
(:mod:`._ca_profile`), the OCSP responder and the ``sild trust`` commands; kept apart
so that none of them needs the CA's key handling to name a reason or catch an error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography import x509

from trust.errors import TrustError


class CaError(TrustError):
    code = "trust.ca.error"


class CaNotInitialised(CaError):
    code = "trust.ca.not_initialised"


class CaAlreadyExists(CaError):
    code = "trust.ca.exists"


class CsrInvalid(CaError):
    code = "trust.ca.csr_invalid"


class UnknownCertificate(CaError):
    code = "trust.ca.unknown_certificate"


class AlreadyRevoked(CaError):
    code = "trust.ca.already_revoked"


class CertificateKind(enum.Enum):
    AUTH = "auth"
    SIGN = "sign"


class RevocationReason(enum.Enum):
    """RFC 5280 CRLReason, named as X-Road and openssl write them."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"
    AA_COMPROMISE = "aACompromise"

    @classmethod
    def parse(cls, text: str) -> "RevocationReason":
        key = text.replace("_", "").replace("-", "").lower()
        for reason in cls:
            if reason.value.lower() == key:
                return reason
        raise CaError(f"unknown revocation reason {text!r}", code="trust.ca.bad_reason")

    @property
    def asn1_name(self) -> str:
        """asn1crypto's CRLReason name (``key_compromise``)."""
        return {
            "cACompromise": "ca_compromise",
            "aACompromise": "aa_compromise",
        }.get(self.value, "".join("_" + c.lower() if c.isupper() else c for c in self.value))


class RevokedKeyPolicy(enum.Enum):
    """What the CA does when asked to certify a key it certified before for a now revoked certificate."""

    WARN = "warn"
    REFUSE = "refuse"


@dataclass(frozen=True)
class IssuedCertificate:
    """A freshly issued certificate and, when the CA generated the key, the encrypted key."""

    cert: x509.Certificate
    encrypted_key_pem: bytes | None = None
    warnings: tuple[str, ...] = ()  # said to the operator, e.g. a key certified before for a revoked certificate
