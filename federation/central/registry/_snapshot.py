"""A consistent, frozen read of the whole registry for the generator.

:func:`read_snapshot` runs inside one registry transaction, so the shared
parameters it describes never mix two states of the registry (a gateway without its
owner, a group member that was just removed). The snapshot carries the ``serial`` it
was read at: the generator records it with what it published and compares it on its
next run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.protocol import ClientId, MemberId

from federation.model import (
    ApprovedCaInfo, ApprovedTsaInfo, CaInfo, GlobalGroup, MaintenanceMode, Member, MemberClass, OcspInfo,
    SecurityServer, Subsystem,
)
from ._base import SETTINGS
from ._errors import NotInitialised
from ._models import (
    CaRow, GatewayRow, GlobalGroupRow, MemberClassRow, MemberRow, RegistryState, Setting, SigningKeyRow,
    SubsystemRow, TrustedAnchorRow, TsaRow,
)


@dataclass(frozen=True)
class SigningKeyInfo:
    key_id: str
    kind: str  # internal | external
    status: str  # pending | active | retired
    cert_der: bytes


@dataclass(frozen=True)
class RegistrySnapshot:
    instance: str
    serial: int
    changed_at: dt.datetime
    member_classes: tuple[MemberClass, ...]
    members: tuple[Member, ...]
    security_servers: tuple[SecurityServer, ...]
    approved_cas: tuple[ApprovedCaInfo, ...]
    approved_tsas: tuple[ApprovedTsaInfo, ...]
    global_groups: tuple[GlobalGroup, ...]
    settings: dict[str, str]
    trusted_anchors: tuple[tuple[str, bytes], ...]  # (instance, exact anchor bytes)
    signing_keys: tuple[SigningKeyInfo, ...]

    def setting_int(self, name: str) -> int:
        return int(self.settings.get(name, SETTINGS[name][0]))

    def active_key(self, kind: str) -> SigningKeyInfo | None:
        for key in self.signing_keys:
            if key.kind == kind and key.status == "active":
                return key
        return None

    def published_keys(self, kind: str) -> tuple[SigningKeyInfo, ...]:
        """Keys whose certificates are announced in ``source``/anchors: active and pending."""
        return tuple(k for k in self.signing_keys if k.kind == kind and k.status in ("active", "pending"))


def _client(instance: str, member: MemberRow, sub: SubsystemRow | None) -> ClientId:
    mid = MemberId(instance, member.member_class.code, member.member_code)
    return mid.subsystem(sub.code) if sub is not None else mid


def read_snapshot(s: Session) -> RegistrySnapshot:
    state = s.get(RegistryState, 1)
    if state is None:
        raise NotInitialised("the registry is not initialised (run `sild central init`)")
    inst = state.instance
    classes = {r.id: MemberClass(r.code, r.description) for r in s.scalars(select(MemberClassRow))}
    members = tuple(
        Member(
            classes[m.member_class_id],
            m.member_code,
            m.name,
            subsystems=tuple(Subsystem(sub.code, sub.name) for sub in m.subsystems),
        )
        for m in s.scalars(select(MemberRow).order_by(MemberRow.id))
    )
    servers = tuple(
        SecurityServer(
            owner=MemberId(inst, g.owner.member_class.code, g.owner.member_code),
            server_code=g.server_code,
            address=g.address,
            auth_cert_hashes=tuple(bytes.fromhex(c.sha256_hex) for c in g.auth_certs),
            clients=tuple(_client(inst, c.member, c.subsystem) for c in g.clients),
            maintenance=MaintenanceMode(g.maintenance_message) if g.in_maintenance else None,
        )
        for g in s.scalars(select(GatewayRow).order_by(GatewayRow.id))
    )
    cas = tuple(
        ApprovedCaInfo(
            name=c.name,
            top_ca=CaInfo(c.cert_der, tuple(OcspInfo(o.url, o.cert_der) for o in c.ocsp)),
            certificate_profile_info=c.certificate_profile,
            intermediate_cas=tuple(CaInfo(i.cert_der) for i in c.intermediates),
            authentication_only=c.authentication_only,
        )
        for c in s.scalars(select(CaRow).order_by(CaRow.name))
    )
    tsas = tuple(ApprovedTsaInfo(t.name, t.url, t.cert_der) for t in s.scalars(select(TsaRow).order_by(TsaRow.name)))
    groups = tuple(
        GlobalGroup(g.code, g.description, tuple(_client(inst, m.member, m.subsystem) for m in g.members))
        for g in s.scalars(select(GlobalGroupRow).order_by(GlobalGroupRow.code))
    )
    return RegistrySnapshot(
        instance=inst,
        serial=state.serial,
        changed_at=state.changed_at,
        member_classes=tuple(sorted(classes.values(), key=lambda c: c.code)),
        members=members,
        security_servers=servers,
        approved_cas=cas,
        approved_tsas=tsas,
        global_groups=groups,
        settings={r.name: r.value for r in s.scalars(select(Setting))},
        trusted_anchors=tuple(
            (a.instance, a.anchor_xml) for a in s.scalars(select(TrustedAnchorRow).order_by(TrustedAnchorRow.instance))
        ),
        signing_keys=tuple(
            SigningKeyInfo(k.key_id, k.kind, k.status, k.cert_der)
            for k in s.scalars(select(SigningKeyRow).order_by(SigningKeyRow.id))
        ),
    )
