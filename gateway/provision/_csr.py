"""Certificate requests of a gateway: the subjects X-Road's CA profile expects, and PKCS#10 through the Signer.

A gateway asks its CA for two kinds of certificate: the *auth* certificate of the
server (TLS between gateways) and a *sign* certificate for each member whose messages
it signs. Their subjects follow X-Road's EJBCA profile (``C`` = instance, ``O`` =
member class, ``CN`` = member code, and for the server a ``serialNumber`` naming it).
The requests themselves are :func:`trust.keys.make_csr`'s, signed through the token's
``Signer``, so the private keys never leave the token (DESIGN.md section 6.5).
"""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.x509.oid import NameOID

from trust.keys import make_csr as make_csr  # the gateway's CSRs, re-exported where they always were
from trust.protocol import MemberId, SecurityServerId


def _country(instance: str) -> x509.NameAttribute[str]:
    """C=instance as X-Road's EJBCA profile wants; instance codes are not ISO countries
    (``DEV``, ``EE-test``), so the two-letter check of ``cryptography`` is skipped."""
    if len(instance) == 2:
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance, _validate=False)


def auth_subject(server: SecurityServerId) -> x509.Name:
    return x509.Name([
        _country(server.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, server.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, server.member_code),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{server.instance}/{server.server_code}/{server.member_class}"),
    ])


def sign_subject(member: MemberId) -> x509.Name:
    return x509.Name([
        _country(member.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, member.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, member.member_code),
    ])
