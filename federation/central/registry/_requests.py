"""Registration requests in the registry: store a verified request, approve or decline it.

Approval is one registry transaction: the request is closed *and* the gateway is
created (or, for a gateway already registered, the new auth certificate and any new
clients are added). If any part fails (an unknown client subsystem, an auth
certificate registered meanwhile to another gateway) nothing changes and the request
stays ``submitted`` with the specific error returned to the operator.

A request is stored once. A replay of a request the authority already holds (the
same signed payload, whatever its status), or a second request for an auth
certificate whose earlier request still waits for a decision, is refused with
``federation.registry.duplicate_request`` (409): the signed payload stays valid for
an hour (:data:`federation.central._registration.MAX_AGE`), and whoever saw it on
the way could otherwise fill the officer's queue with copies of it.

X-Road's management requests of a registered gateway (``clientReg``,
``clientDeletion``, ``ownerChange``, ``addressChange``: :mod:`federation.central._management`)
share the table, the queue and the decision: one is stored only when the gateway is
registered, the auth certificate that signed it is registered to that gateway, no
request for the same change waits, and the change applies to the registry as it is
(a client registered twice, the deletion of a client the gateway does not serve, a
new owner that is not a client of the gateway are refused with their own codes);
approval checks that again and makes the change in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.protocol import ClientId, MemberId, SubsystemId, parse_client, parse_server

from federation.central import VerifiedRegistrationRequest
from ._registry import Registry
from ._errors import (
    DuplicateGateway, RegistryConflict, RegistryInvalidInput, RegistryNotFound, UnknownMember, UnregisteredAuthCert,
)
from ._models import GatewayClientRow, GatewayRow, RegistrationRequestRow, SubsystemRow

STATUSES = ("submitted", "approved", "declined")
REQUEST_TYPE = "authCertReg"


@dataclass(frozen=True)
class RegistrationInfo:
    id: int
    status: str
    server: str
    address: str | None
    auth_cert_sha256: str
    clients: tuple[str, ...]
    received_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    comment: str | None
    type: str = "authCertReg"

    def outcome(self) -> str:
        """What approving the request did, in words (the CLI's answer)."""
        concerned = self.clients[0] if self.clients else ""
        return {
            "clientReg": f"{concerned} registered as a client of gateway {self.server}",
            "clientDeletion": f"{concerned} is no longer a client of gateway {self.server}",
            "ownerChange": f"gateway {self.server} is now owned by {concerned}",
            "addressChange": f"gateway {self.server} is now reached at {self.address}",
        }.get(self.type, f"gateway {self.server} registered")

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "server": self.server,
            "address": self.address,
            "authCertSha256": self.auth_cert_sha256,
            "clients": list(self.clients),
            "receivedAt": self.received_at.isoformat(),
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "decidedBy": self.decided_by,
            "comment": self.comment,
        }


def _info(row: RegistrationRequestRow) -> RegistrationInfo:
    return RegistrationInfo(
        row.id,
        row.status,
        row.server_id,
        row.address,
        row.auth_cert_sha256_hex,
        tuple(c for c in row.clients.split("\n") if c),
        row.received_at,
        row.decided_at,
        row.decided_by,
        row.comment,
        row.request_type,
    )


def store_request(registry: Registry, request: VerifiedRegistrationRequest) -> RegistrationInfo:
    """Record a verified request as ``submitted``; the owner must be a registered member."""
    with registry._change(bump=False) as s:  # noqa: SLF001 - the registry's own transaction helper
        registry._member(s, request.server.owner)  # noqa: SLF001 - raises UnknownMember
        if request.request_type == REQUEST_TYPE:
            _refuse_duplicate(s, request)
        else:
            check_submitted(registry, s, request)
        row = RegistrationRequestRow(
            status="submitted",
            request_type=request.request_type,
            server_id=request.server.to_text(),
            address=request.address,
            auth_cert_der=request.auth_cert_der,
            auth_cert_sha256_hex=hashlib.sha256(request.auth_cert_der).hexdigest(),
            clients="\n".join(c.to_text() for c in request.clients),
            document=request.document,
            received_at=registry.now(),
        )
        s.add(row)
        s.flush()
        return _info(row)


def _signed_payload(document: bytes) -> bytes | None:
    """The signed payload of a stored request (verified when it came in), or None if unreadable."""
    try:
        outer = json.loads(document)
        return base64.b64decode("".join(str(outer["payload"]).split()), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _refuse_duplicate(s: Session, request: VerifiedRegistrationRequest) -> None:
    """Refuse a replayed request, or a second one while the first for this auth certificate waits."""
    payload = _signed_payload(request.document)
    same_cert = select(RegistrationRequestRow).where(
        RegistrationRequestRow.request_type == REQUEST_TYPE,
        RegistrationRequestRow.auth_cert_sha256_hex == hashlib.sha256(request.auth_cert_der).hexdigest())
    for row in s.scalars(same_cert):
        if row.status == "submitted":
            raise RegistryConflict(
                f"registration request {row.id} for this auth certificate is still waiting for a decision",
                code="federation.registry.duplicate_request")
        if payload is not None and _signed_payload(row.document) == payload:
            raise RegistryConflict(f"this request was received before (request {row.id}, {row.status})",
                                   code="federation.registry.duplicate_request")


def list_requests(registry: Registry, status: str | None = None) -> list[RegistrationInfo]:
    if status is not None and status not in STATUSES:
        raise RegistryInvalidInput(f"status must be one of {', '.join(STATUSES)}")
    with registry._session() as s:  # noqa: SLF001
        query = select(RegistrationRequestRow).order_by(RegistrationRequestRow.id)
        if status is not None:
            query = query.where(RegistrationRequestRow.status == status)
        return [_info(r) for r in s.scalars(query)]


def decide(registry: Registry, request_id: int, *, approve: bool, by: str, comment: str | None = None) -> RegistrationInfo:
    """Approve (register the gateway) or decline a submitted request, atomically."""
    with registry._change(bump=approve) as s:  # noqa: SLF001
        row = s.get(RegistrationRequestRow, request_id)
        if row is None:
            raise RegistryNotFound(f"no registration request {request_id}", code="federation.registry.unknown_request")
        if row.status != "submitted":
            raise RegistryInvalidInput(
                f"registration request {request_id} is already {row.status}", code="federation.registry.request_closed"
            )
        if approve and row.request_type != REQUEST_TYPE:
            apply_management(registry, s, row)
        elif approve:
            server = parse_server(row.server_id)
            owner = registry._member(s, server.owner)  # noqa: SLF001
            gateway = s.scalar(
                select(GatewayRow).where(GatewayRow.owner_id == owner.id, GatewayRow.server_code == server.server_code)
            )
            if gateway is None:
                gateway = GatewayRow(owner=owner, server_code=server.server_code, address=row.address, created_at=registry.now())
                s.add(gateway)
            elif row.address:
                gateway.address = row.address
            registry._attach_auth_cert(s, gateway, row.auth_cert_der)  # noqa: SLF001
            for text in (c for c in row.clients.split("\n") if c):
                registry._attach_client(s, gateway, parse_client(text))  # noqa: SLF001
            s.flush()
            registry._sync_owner_group(s)  # noqa: SLF001
        row.status = "approved" if approve else "declined"
        row.decided_at = registry.now()
        row.decided_by = by
        row.comment = comment
        s.flush()
        return _info(row)



# -- management requests (clientReg, clientDeletion, ownerChange, addressChange) ----------------------


def check_submitted(registry: Registry, s: Session, request: VerifiedRegistrationRequest) -> None:
    """A management request may be stored: the gateway is registered and signed it with one of its
    registered auth certificates, no identical request waits or was received before, and the change
    makes sense in the registry as it is now (it is checked again on approval)."""
    gateway = registry._gateway(s, request.server)  # noqa: SLF001 - raises UnknownGateway
    if hashlib.sha256(request.auth_cert_der).hexdigest() not in {c.sha256_hex for c in gateway.auth_certs}:
        raise UnregisteredAuthCert(f"the auth certificate that signed the request is not registered to gateway "
                                   f"{request.server.to_text()}")
    clients = "\n".join(c.to_text() for c in request.clients)
    payload = _signed_payload(request.document)
    same = select(RegistrationRequestRow).where(RegistrationRequestRow.server_id == request.server.to_text(),
                                                RegistrationRequestRow.request_type == request.request_type)
    for row in s.scalars(same):
        if row.status == "submitted" and row.clients == clients and row.address == request.address:
            raise RegistryConflict(f"{row.request_type} request {row.id} for the same change is still waiting for a "
                                   "decision", code="federation.registry.duplicate_request")
        if payload is not None and _signed_payload(row.document) == payload:
            raise RegistryConflict(f"this request was received before (request {row.id}, {row.status})",
                                   code="federation.registry.duplicate_request")
    _served(registry, s, gateway, request.request_type, request.clients)


def _served(registry: Registry, s: Session, gateway: GatewayRow, kind: str,
            clients: tuple[ClientId, ...]) -> GatewayClientRow | None:
    """Check that the change applies to ``gateway`` now; the client row it concerns, if any."""
    if kind == "addressChange":
        return None
    concerned = clients[0]
    server = registry._server_text(registry._state(s).instance, gateway)  # noqa: SLF001
    if kind == "ownerChange":
        member = registry._member(s, concerned.member)  # noqa: SLF001 - raises UnknownMember
        if not any(c.member is member for c in gateway.clients):
            raise RegistryInvalidInput(f"{concerned.to_text()} is not a client of gateway {server}; register one of "
                                       "its subsystems there first", code="federation.registry.not_a_client")
        if s.scalar(select(GatewayRow).where(GatewayRow.owner_id == member.id,
                                             GatewayRow.server_code == gateway.server_code)) is not None:
            raise DuplicateGateway(f"{concerned.to_text()} already owns a gateway {gateway.server_code}")
        return None
    assert isinstance(concerned, SubsystemId)
    member = registry._member(s, concerned.member)  # noqa: SLF001 - raises UnknownMember
    row = next((c for c in gateway.clients if c.member is member and c.subsystem is not None
                and c.subsystem.code == concerned.subsystem_code), None)
    if kind == "clientReg" and row is not None:
        raise RegistryConflict(f"{concerned.to_text()} is already a client of gateway {server}",
                               code="federation.registry.duplicate_client")
    if kind == "clientDeletion" and row is None:
        raise RegistryNotFound(f"{concerned.to_text()} is not a client of gateway {server}",
                               code="federation.registry.unknown_client")
    return row


def apply_management(registry: Registry, s: Session, row: RegistrationRequestRow) -> None:
    """Make the approved change, in the approval's transaction (checked again: the registry may have moved)."""
    gateway = registry._gateway(s, parse_server(row.server_id))  # noqa: SLF001
    clients = tuple(parse_client(c) for c in row.clients.split("\n") if c)
    served = _served(registry, s, gateway, row.request_type, clients)
    if row.request_type == "addressChange":
        gateway.address = row.address
    elif row.request_type == "clientDeletion":
        gateway.clients.remove(served)  # type: ignore[arg-type]  # _served found it
    elif row.request_type == "ownerChange":
        assert isinstance(clients[0], MemberId)
        gateway.owner = registry._member(s, clients[0])  # noqa: SLF001
        s.flush()
        registry._sync_owner_group(s)  # noqa: SLF001
    else:  # clientReg: as X-Road's central server, a subsystem not yet in the registry is added with it
        client = clients[0]
        assert isinstance(client, SubsystemId)
        member = registry._member(s, client.member)  # noqa: SLF001
        if not any(sub.code == client.subsystem_code for sub in member.subsystems):
            member.subsystems.append(SubsystemRow(code=client.subsystem_code, name=None, created_at=registry.now()))
            s.flush()
        registry._attach_client(s, gateway, client)  # noqa: SLF001


__all__ = ["RegistrationInfo", "decide", "list_requests", "store_request", "UnknownMember"]


def request_document(registry: Registry, request_id: int) -> tuple[RegistrationInfo, bytes]:
    """A stored request and the signed document exactly as it was received (to show and verify it again)."""
    with registry._session() as s:  # noqa: SLF001
        row = s.get(RegistrationRequestRow, request_id)
        if row is None:
            raise RegistryNotFound(f"no registration request {request_id}", code="federation.registry.unknown_request")
        return _info(row), bytes(row.document)
