"""The built-in trust services: certificate authority, OCSP responder, TSA.

They make a whole country runnable on one laptop: the CA (its database, profiles and
issuance), the OCSP responder and the timestamping authority, their HTTP app and the
``sild trust`` commands. Real deployments point gateways at external services over
the same protocols instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._backup import TRUST_BACKUP
    from ._ca import (
        AlreadyRevoked, CaError, CertificateAuthority, CertificateKind, CsrInvalid, IssuedCertificate,
        RevocationReason, RevokedKeyPolicy, UnknownCertificate,
    )
    from ._ca_db import VERSION_TABLE, metadata
    from ._http import TrustHttpApp, TrustServer
    from ._ocsp_responder import OcspResponder
    from ._tsa import TimestampAuthority

__all__ = [
    "TRUST_BACKUP",
    "AlreadyRevoked",
    "CaError",
    "CertificateAuthority",
    "CertificateKind",
    "CsrInvalid",
    "IssuedCertificate",
    "OcspResponder",
    "RevocationReason",
    "RevokedKeyPolicy",
    "TimestampAuthority",
    "TrustHttpApp",
    "TrustServer",
    "UnknownCertificate",
    "VERSION_TABLE",
    "metadata",
]

__getattr__, __dir__ = attach(__name__, {
    "TRUST_BACKUP": "._backup",
    "AlreadyRevoked": "._ca",
    "CaError": "._ca",
    "CertificateAuthority": "._ca",
    "CertificateKind": "._ca",
    "CsrInvalid": "._ca",
    "IssuedCertificate": "._ca",
    "OcspResponder": "._ocsp_responder",
    "RevocationReason": "._ca",
    "RevokedKeyPolicy": "._ca",
    "TimestampAuthority": "._tsa",
    "TrustHttpApp": "._http",
    "TrustServer": "._http",
    "UnknownCertificate": "._ca",
    "VERSION_TABLE": "._ca_db",
    "metadata": "._ca_db",
})
