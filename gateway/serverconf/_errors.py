"""Errors of server configuration and the small parsers its callers share.

Every failure has its own code so the admin API can answer 404/409/400 with a
specific message and the CLI can print one line.
"""

from __future__ import annotations

import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trust.errors import IdentifierError
from trust.protocol import (
    AnyId, ClientId, GlobalGroupId, LocalGroupId, MemberId, SubsystemId, parse_client, parse_typed,
)

from gateway.errors import GatewayError


class ServerConfError(GatewayError):
    code = "gateway.serverconf.error"


class InvalidInput(ServerConfError):
    code = "gateway.serverconf.invalid_input"


class NotFound(ServerConfError):
    code = "gateway.serverconf.not_found"


class ClientNotFound(NotFound):
    code = "gateway.serverconf.client_not_found"


class ServiceNotFound(NotFound):
    code = "gateway.serverconf.service_not_found"


class DescriptionNotFound(NotFound):
    code = "gateway.serverconf.description_not_found"


class LocalGroupNotFound(NotFound):
    code = "gateway.serverconf.local_group_not_found"


class AccessRightNotFound(NotFound):
    code = "gateway.serverconf.access_right_not_found"


class AlreadyExists(ServerConfError):
    code = "gateway.serverconf.already_exists"


class IdentityNotSet(ServerConfError):
    code = "gateway.serverconf.identity_not_set"


def client_to_text(client: ClientId) -> str:
    return client.typed_text()


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
        parsed = x509.load_pem_x509_certificate(cert) if b"-----BEGIN" in cert else x509.load_der_x509_certificate(cert)
    except ValueError as exc:
        raise InvalidInput("not a PEM or DER X.509 certificate") from exc
    der = parsed.public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest(), der
