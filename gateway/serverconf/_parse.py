"""Parsers of operator input: client and access-right subject identifiers, IP networks, certificates.

The admin API and the CLI hand server configuration text written by people (typed or
plain identifiers, allowed addresses, pasted PEM or DER certificates); these turn it
into values or refuse it with :class:`~gateway.serverconf._errors.InvalidInput`, so
every caller answers bad input with the same code and message.
"""

from __future__ import annotations

import hashlib
import ipaddress

from cryptography.hazmat.primitives.serialization import Encoding

from trust.errors import IdentifierError
from trust.pki import CertificateError, read_certificate
from trust.protocol import (
    AnyId, ClientId, GlobalGroupId, LocalGroupId, MemberId, SubsystemId, parse_client, parse_typed,
)

from ._errors import InvalidInput


def parse_client_text(text: str) -> ClientId:
    """A client written either typed (``SUBSYSTEM:EE/GOV/1/x``) or plain (``EE/GOV/1/x``)."""
    try:
        if ":" in text.split("/", 1)[0]:
            ident = parse_typed(text)
            if not isinstance(ident, (MemberId, SubsystemId)):
                raise InvalidInput(f"{text!r} is not a member or subsystem")
            return ident
        return parse_client(text)
    except IdentifierError as exc:
        raise InvalidInput(str(exc)) from exc


def parse_subject(text: str) -> AnyId:
    """An access-right subject: member, subsystem, global group or local group (typed text)."""
    try:
        if ":" not in text.split("/", 1)[0]:
            return parse_client(text)
        ident = parse_typed(text)
    except IdentifierError as exc:
        raise InvalidInput(str(exc)) from exc
    if not isinstance(ident, (MemberId, SubsystemId, GlobalGroupId, LocalGroupId)):
        raise InvalidInput(f"{text!r}: access rights go to members, subsystems or groups")
    return ident


def parse_networks(addresses: tuple[str, ...] | list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for a in addresses:
        try:
            out.append(ipaddress.ip_network(a.strip(), strict=False))
        except ValueError as exc:
            raise InvalidInput(f"allowed address {a!r} is not an IP address or network") from exc
    return tuple(out)


def cert_sha256(cert: bytes) -> tuple[str, bytes]:
    """(SHA-256 hex of the DER, DER) for a PEM or DER certificate; refuses anything else."""
    try:
        parsed = read_certificate(cert)
    except CertificateError as exc:
        raise InvalidInput("not a PEM or DER X.509 certificate") from exc
    der = parsed.public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest(), der
