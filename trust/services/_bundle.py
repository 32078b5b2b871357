"""The OCSP responder and the TSA of a :class:`~trust.services._ca.CertificateAuthority`.

Kept apart from ``ca`` so the CA module does not import the responders (which
import ``ca`` for revocation reasons).
"""

from __future__ import annotations

import datetime as dt

from ._ca import OCSP, ROOT, TSA, CertificateAuthority
from ._ocsp_responder import OcspIssuer, OcspResponder
from ._tsa import DEFAULT_TSA_POLICY, PersistentSerials, TimestampAuthority


def ocsp_responder(ca: CertificateAuthority, *, validity: dt.timedelta = dt.timedelta(hours=1)) -> OcspResponder:
    """Responder for the issuing CA, signing with the delegated OCSP certificate; with an
    intermediate it also answers for the intermediate itself, signed by the root (X-Road
    wants OCSP for every certificate of a chain except the root)."""
    extra = (OcspIssuer(ca.root_cert, ca.token, ROOT, ca.root_cert),) if ca.intermediate_cert is not None else ()
    return OcspResponder(ca.db, ca.issuing_cert, ca.token, OCSP, ca.ocsp_cert, validity=validity,
                         extra_issuers=extra)


def timestamp_authority(ca: CertificateAuthority, *, policy: str = DEFAULT_TSA_POLICY) -> TimestampAuthority:
    """The CA's TSA; its serial boot counter lives in ``<dir>/tsa-serial``."""
    return TimestampAuthority(
        ca.token, TSA, ca.tsa_cert, PersistentSerials(ca.directory / "tsa-serial"),
        chain=ca.intermediates, policy=policy,
    )
