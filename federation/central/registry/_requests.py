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

from trust.protocol import parse_client, parse_server

from federation.central import VerifiedRegistrationRequest
from ._registry import Registry
from ._errors import RegistryConflict, RegistryInvalidInput, RegistryNotFound, UnknownMember
from ._models import GatewayRow, RegistrationRequestRow

STATUSES = ("submitted", "approved", "declined")


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

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
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
    )


def store_request(registry: Registry, request: VerifiedRegistrationRequest) -> RegistrationInfo:
    """Record a verified request as ``submitted``; the owner must be a registered member."""
    with registry._change(bump=False) as s:  # noqa: SLF001 - the registry's own transaction helper
        registry._member(s, request.server.owner)  # noqa: SLF001 - raises UnknownMember
        _refuse_duplicate(s, request)
        row = RegistrationRequestRow(
            status="submitted",
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
        if approve:
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


__all__ = ["RegistrationInfo", "decide", "list_requests", "store_request", "UnknownMember"]
