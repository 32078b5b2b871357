"""What an instance trusts: approved CAs (with OCSP responders and certificate
profile) and approved timestamping authorities.

These frozen values are the bridge between ``federation`` (which reads them out of
verified shared parameters) and ``trust`` (which validates certificates, OCSP
responses, signatures and timestamps against them). ``trust`` never parses global
configuration itself; it is handed a :class:`TrustPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

DEFAULT_OCSP_FRESHNESS_SECONDS = 3600

# X-Road's certificate profile for EJBCA-style subjects (C=instance, O=class, CN=code);
# sild's own CA issues sign certificates this way.
EJBCA_PROFILE = "ee.ria.xroad.common.certificateprofile.impl.EjbcaCertificateProfileInfoProvider"


@dataclass(frozen=True)
class OcspResponderInfo:
    """One OCSP responder of a CA; ``cert`` is set when the responder is not the CA itself."""

    url: str
    cert: x509.Certificate | None = None


@dataclass(frozen=True)
class ApprovedCa:
    """A certification service approved by an instance's governing authority."""

    name: str
    top_cert: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    ocsp_responders: tuple[OcspResponderInfo, ...] = ()
    authentication_only: bool = False
    certificate_profile: str = EJBCA_PROFILE

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("an approved CA needs a name")


@dataclass(frozen=True)
class ApprovedTsa:
    """A timestamping authority approved by an instance's governing authority."""

    name: str
    url: str
    cert: x509.Certificate


@dataclass(frozen=True)
class TrustPolicy:
    """Everything one instance trusts, as read from its verified shared parameters."""

    instance: str
    cas: tuple[ApprovedCa, ...] = ()
    tsas: tuple[ApprovedTsa, ...] = ()
    ocsp_freshness_seconds: int = DEFAULT_OCSP_FRESHNESS_SECONDS
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.instance:
            raise ValueError("a trust policy belongs to an instance")
        if self.ocsp_freshness_seconds <= 0:
            raise ValueError("ocspFreshnessSeconds must be positive")
