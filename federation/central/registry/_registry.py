"""The governing authority's registry: who is who in one instance.

Every public method is one transaction. Input is checked before anything is written,
database constraint violations are translated into specific
:mod:`federation.central.registry._errors` leaves, and any error rolls the whole transaction
back, so the registry never half-applies a change (a gateway is never registered
without its auth certificate, an approval never adds a gateway without closing the
request). Each successful change increments ``registry_state.serial`` in the same
transaction; :mod:`federation.central._generator` republishes when it sees a new serial.

The clock is a constructor parameter (``clock``) so that tests pass their moments;
it must return aware datetimes. Transactions and lookups are in
:mod:`federation.central.registry._base`; CAs, TSAs, settings, trusted anchors, signing keys and
API keys in :mod:`federation.central.registry._security`; this module adds members,
subsystems, gateways and global groups and is the one to import.

Reading the whole registry for the generator is :meth:`Registry.snapshot`
(:mod:`federation.central.registry._snapshot`), which returns frozen model values of
:mod:`federation.model._model` read in one transaction, so a snapshot is never torn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.protocol import ClientId, MemberId, SecurityServerId, SubsystemId

from federation.model import SECURITY_SERVER_OWNERS_GROUP
from ._base import (
    KEY_KINDS, KEY_STATUSES, ROLES, SETTINGS, TEXT_SETTINGS, RegistryInfo, load_der_certificate,
)
from ._security import ApiKeyInfo, SecurityRecords
from ._errors import (
    DuplicateAuthCert, DuplicateGateway, DuplicateMember, DuplicateName, DuplicateSubsystem, InUse,
    RegistryError, RegistryInvalidInput, RegistryNotFound,
)
from ._models import (
    AuthCertRow, GatewayClientRow, GatewayRow, GlobalGroupMemberRow, GlobalGroupRow, MemberClassRow,
    MemberRow, SubsystemRow,
)


class Registry(SecurityRecords):
    """Operations on the registry database; safe to share between threads."""

    # -- member classes, members, subsystems ------------------------------------
    def add_member_class(self, code: str, description: str = "") -> None:
        self._add_coded(MemberClassRow(code=code, description=description), "member class")

    def _add_coded(self, row: MemberClassRow | GlobalGroupRow, what: str) -> None:
        """Add a member class or global group: a new code, without ``/``, and its description."""
        if not row.code or "/" in row.code:
            raise RegistryInvalidInput(f"invalid {what} code {row.code!r}")
        with self._change() as s:
            kind = type(row)
            if s.scalar(select(kind).where(kind.code == row.code)) is not None:
                raise DuplicateName(f"{what} {row.code!r} exists")
            s.add(row)

    def remove_member_class(self, code: str) -> None:
        with self._change() as s:
            row = self._member_class(s, code)
            if s.scalar(select(MemberRow.id).where(MemberRow.member_class_id == row.id).limit(1)) is not None:
                raise InUse(f"member class {code!r} still has members")
            s.delete(row)

    def member_classes(self) -> list[tuple[str, str]]:
        with self._session() as s:
            return [(r.code, r.description) for r in s.scalars(select(MemberClassRow).order_by(MemberClassRow.code))]

    def add_member(self, member: MemberId, name: str) -> None:
        if not name or not name.strip():
            raise RegistryInvalidInput("a member needs a name")
        with self._change() as s:
            self._check_instance(s, member.instance)
            cls = self._member_class(s, member.member_class)
            existing = s.scalar(
                select(MemberRow).where(MemberRow.member_class_id == cls.id, MemberRow.member_code == member.member_code)
            )
            if existing is not None:
                raise DuplicateMember(f"member {member.to_text()} exists")
            s.add(MemberRow(member_class=cls, member_code=member.member_code, name=name.strip(), created_at=self.now()))

    def remove_member(self, member: MemberId) -> None:
        """Removes the member with its subsystems, gateways and group memberships."""
        with self._change() as s:
            s.delete(self._member(s, member))
            s.flush()
            self._sync_owner_group(s)

    def members(self) -> list[tuple[MemberId, str, tuple[tuple[str, str | None], ...]]]:
        """``(id, name, ((subsystem code, subsystem name), ...))`` for every member."""
        with self._session() as s:
            instance = self._state(s).instance
            rows = s.scalars(select(MemberRow).join(MemberClassRow).order_by(MemberClassRow.code, MemberRow.member_code))
            return [
                (
                    MemberId(instance, r.member_class.code, r.member_code),
                    r.name,
                    tuple((sub.code, sub.name) for sub in r.subsystems),
                )
                for r in rows
            ]

    def add_subsystem(self, subsystem: SubsystemId, name: str | None = None) -> None:
        with self._change() as s:
            member = self._member(s, subsystem.member)
            if any(sub.code == subsystem.subsystem_code for sub in member.subsystems):
                raise DuplicateSubsystem(f"subsystem {subsystem.to_text()} exists")
            member.subsystems.append(SubsystemRow(code=subsystem.subsystem_code, name=name, created_at=self.now()))

    def rename_member(self, member: MemberId, name: str) -> None:
        """Change a member's name; its code, referred to by every identifier, never changes."""
        if not name or not name.strip():
            raise RegistryInvalidInput("a member needs a name")
        with self._change() as s:
            self._member(s, member).name = name.strip()

    def remove_subsystem(self, subsystem: SubsystemId, *, force: bool = False) -> None:
        """Remove a subsystem; refused while a gateway serves it or a global group holds it.

        A gateway that still serves a removed subsystem would lose it from the next
        configuration without its operator having asked (X-Road's central server refuses
        the same); ``force`` removes those client registrations and memberships with it.
        """
        with self._change() as s:
            row = self._subsystem(s, subsystem)
            served = list(s.scalars(select(GatewayClientRow).where(GatewayClientRow.subsystem_id == row.id)))
            grouped = list(s.scalars(select(GlobalGroupMemberRow).where(GlobalGroupMemberRow.subsystem_id == row.id)))
            if (served or grouped) and not force:
                instance = self._state(s).instance
                users = [f"gateway {self._server_text(instance, c.gateway)}" for c in served]
                users += [f"global group {m.group.code}" for m in grouped]
                raise InUse(f"subsystem {subsystem.to_text()} is still used by {', '.join(users)}; delete it there "
                            "first (a client deletion request), or remove it with --force (API: ?force=true)")
            for dependent in (*served, *grouped):
                s.delete(dependent)
            s.delete(row)

    # -- gateways ---------------------------------------------------------------
    def add_gateway(
        self,
        server: SecurityServerId,
        *,
        address: str | None,
        auth_certs: Sequence[bytes] = (),
        clients: Sequence[ClientId] = (),
    ) -> None:
        """Register a gateway with its auth certificates and the clients it serves."""
        ders = [load_der_certificate(c, "auth certificate") for c in auth_certs]
        with self._change() as s:
            owner = self._member(s, server.owner)
            if s.scalar(select(GatewayRow).where(GatewayRow.owner_id == owner.id, GatewayRow.server_code == server.server_code)):
                raise DuplicateGateway(f"gateway {server.to_text()} exists")
            row = GatewayRow(owner=owner, server_code=server.server_code, address=address or None, created_at=self.now())
            s.add(row)
            for der in ders:
                self._attach_auth_cert(s, row, der)
            for client in clients:
                self._attach_client(s, row, client)
            s.flush()
            self._sync_owner_group(s)

    def _attach_auth_cert(self, s: Session, row: GatewayRow, der: bytes) -> None:
        digest = hashlib.sha256(der).hexdigest()
        if s.scalar(select(AuthCertRow).where(AuthCertRow.sha256_hex == digest)) is not None or any(
            c.sha256_hex == digest for c in row.auth_certs
        ):
            raise DuplicateAuthCert(f"auth certificate {digest[:16]}... is already registered")
        row.auth_certs.append(AuthCertRow(cert_der=der, sha256_hex=digest))

    def _attach_client(self, s: Session, row: GatewayRow, client: ClientId) -> None:
        member, sub = self._client_rows(s, client)
        for existing in row.clients:
            if existing.member is member and existing.subsystem is sub:
                return
        row.clients.append(GatewayClientRow(member=member, subsystem=sub))

    def add_auth_cert(self, server: SecurityServerId, cert: bytes) -> None:
        der = load_der_certificate(cert, "auth certificate")
        with self._change() as s:
            self._attach_auth_cert(s, self._gateway(s, server), der)

    def remove_auth_cert(self, server: SecurityServerId, sha256_hex: str) -> None:
        with self._change() as s:
            row = self._gateway(s, server)
            for cert in row.auth_certs:
                if cert.sha256_hex == sha256_hex.lower():
                    row.auth_certs.remove(cert)
                    return
            raise RegistryNotFound(f"gateway {server.to_text()} has no auth certificate {sha256_hex}")

    def add_gateway_client(self, server: SecurityServerId, client: ClientId) -> None:
        with self._change() as s:
            self._attach_client(s, self._gateway(s, server), client)

    def set_gateway_address(self, server: SecurityServerId, address: str) -> None:
        with self._change() as s:
            self._gateway(s, server).address = address

    def set_maintenance(self, server: SecurityServerId, enabled: bool, message: str | None = None) -> None:
        with self._change() as s:
            row = self._gateway(s, server)
            row.in_maintenance = enabled
            row.maintenance_message = message if enabled else None

    def remove_gateway(self, server: SecurityServerId) -> None:
        with self._change() as s:
            s.delete(self._gateway(s, server))
            s.flush()
            self._sync_owner_group(s)

    def gateways(self) -> list[dict[str, object]]:
        """Plain description of every gateway (for listings and the API)."""
        with self._session() as s:
            instance = self._state(s).instance
            out: list[dict[str, object]] = []
            for g in s.scalars(select(GatewayRow).order_by(GatewayRow.id)):
                owner = MemberId(instance, g.owner.member_class.code, g.owner.member_code)
                out.append(
                    {
                        "id": owner.server(g.server_code).to_text(),
                        "owner": owner.to_text(),
                        "serverCode": g.server_code,
                        "address": g.address,
                        "authCertHashes": [c.sha256_hex for c in g.auth_certs],
                        "clients": [self._client_text(instance, c.member, c.subsystem) for c in g.clients],
                        "inMaintenanceMode": g.in_maintenance,
                        "maintenanceMessage": g.maintenance_message,
                    }
                )
            return out

    @staticmethod
    def _server_text(instance: str, gateway: GatewayRow) -> str:
        owner = gateway.owner
        return MemberId(instance, owner.member_class.code, owner.member_code).server(gateway.server_code).to_text()

    @staticmethod
    def _client_text(instance: str, member: MemberRow, sub: SubsystemRow | None) -> str:
        mid = MemberId(instance, member.member_class.code, member.member_code)
        return (mid.subsystem(sub.code) if sub is not None else mid).to_text()

    def _sync_owner_group(self, s: Session) -> None:
        """Keep ``security-server-owners`` equal to the set of gateway owners."""
        group = s.scalar(select(GlobalGroupRow).where(GlobalGroupRow.code == SECURITY_SERVER_OWNERS_GROUP))
        if group is None:
            return
        owner_ids = set(s.scalars(select(GatewayRow.owner_id)))
        current = {m.member_id: m for m in group.members if m.subsystem_id is None}
        for member_id, row in list(current.items()):
            if member_id not in owner_ids:
                group.members.remove(row)
        for member_id in sorted(owner_ids - set(current)):
            group.members.append(GlobalGroupMemberRow(member_id=member_id, subsystem_id=None))

    # -- global groups ------------------------------------------------------------
    def add_global_group(self, code: str, description: str = "") -> None:
        self._add_coded(GlobalGroupRow(code=code, description=description, built_in=False), "global group")

    def _group(self, s: Session, code: str, *, editable: bool) -> GlobalGroupRow:
        group = self._one(s, select(GlobalGroupRow).where(GlobalGroupRow.code == code), f"unknown global group {code!r}",
                          "federation.registry.unknown_group")
        if editable and group.built_in:
            raise InUse(f"global group {code!r} is built in and kept in sync by the registry")
        return group

    def add_group_member(self, code: str, client: ClientId) -> None:
        with self._change() as s:
            group = self._group(s, code, editable=True)
            member, sub = self._client_rows(s, client)
            if any(m.member is member and m.subsystem is sub for m in group.members):
                raise RegistryError(f"{client.to_text()} is already in {code}", code="federation.registry.conflict")
            group.members.append(GlobalGroupMemberRow(member=member, subsystem=sub))

    def remove_group_member(self, code: str, client: ClientId) -> None:
        with self._change() as s:
            group = self._group(s, code, editable=True)
            member, sub = self._client_rows(s, client)
            for row in group.members:
                if row.member is member and row.subsystem is sub:
                    group.members.remove(row)
                    return
            raise RegistryNotFound(f"{client.to_text()} is not in global group {code}",
                                   code="federation.registry.not_in_group")

    def remove_global_group(self, code: str) -> None:
        """Remove a global group with its memberships (the built-in owners' group is refused)."""
        with self._change() as s:
            s.delete(self._group(s, code, editable=True))

    # -- whole-registry reads ----------------------------------------------------------
    def snapshot(self) -> RegistrySnapshot:
        from ._snapshot import read_snapshot

        with self._session() as s:
            return read_snapshot(s)


from ._snapshot import RegistrySnapshot

__all__ = [
    "KEY_KINDS",
    "KEY_STATUSES",
    "ROLES",
    "SETTINGS",
    "TEXT_SETTINGS",
    "ApiKeyInfo",
    "Registry",
    "RegistryInfo",
    "RegistrySnapshot",
    "load_der_certificate",
]
