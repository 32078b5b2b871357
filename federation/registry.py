"""The governing authority's registry: who is who in one instance.

Every public method is one transaction. Input is checked before anything is written,
database constraint violations are translated into specific
:mod:`federation.registry_errors` leaves, and any error rolls the whole transaction
back, so the registry never half-applies a change (a gateway is never registered
without its auth certificate, an approval never adds a gateway without closing the
request). Each successful change increments ``registry_state.serial`` in the same
transaction; :mod:`federation.generator` republishes when it sees a new serial.

The clock is a constructor parameter (``clock``) so that tests pass their moments;
it must return aware datetimes.

Reading the whole registry for the generator is :meth:`Registry.snapshot`
(:mod:`federation.registry_snapshot`), which returns frozen model values of
:mod:`federation.model` read in one transaction, so a snapshot is never torn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from trust.errors import IdentifierError
from trust.identifiers import ClientId, MemberId, SecurityServerId, SubsystemId, parse_client

from .model import SECURITY_SERVER_OWNERS_GROUP
from .registry_db import open_engine
from .registry_errors import (
    DatabaseFailure,
    DuplicateAuthCert,
    DuplicateGateway,
    DuplicateMember,
    DuplicateName,
    DuplicateSubsystem,
    InUse,
    InvalidCertificate,
    InvalidSetting,
    NotInitialised,
    RegistryError,
    RegistryInvalidInput,
    RegistryNotFound,
    UnknownGateway,
    UnknownMember,
    UnknownMemberClass,
    UnknownSubsystem,
    WrongInstance,
)
from .registry_models import (
    ApiKeyRow,
    AuthCertRow,
    CaRow,
    GatewayClientRow,
    GatewayRow,
    GlobalGroupMemberRow,
    GlobalGroupRow,
    IntermediateCaRow,
    MemberClassRow,
    MemberRow,
    OcspRow,
    RegistryState,
    Setting,
    SigningKeyRow,
    SubsystemRow,
    TrustedAnchorRow,
    TsaRow,
)

ROLES = ("registration-officer", "security-officer", "system-admin")
KEY_KINDS = ("internal", "external")
KEY_STATUSES = ("pending", "active", "retired")

# Global settings: name -> (default, minimum). Integers, seconds.
SETTINGS: dict[str, tuple[int, int]] = {
    "ocspFreshnessSeconds": (3600, 1),
    "confExpireIntervalSeconds": (600, 30),
    "timeStampingIntervalSeconds": (60, 1),
}
# Free-text settings kept with the integers (validated by their own rule).
TEXT_SETTINGS = ("centralUrl", "managementServiceProviderId")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def load_der_certificate(data: bytes, what: str) -> bytes:
    """PEM or DER in, the DER bytes out; anything else is :class:`InvalidCertificate`."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(data)
            from cryptography.hazmat.primitives.serialization import Encoding

            return cert.public_bytes(Encoding.DER)
        x509.load_der_x509_certificate(data)
        return bytes(data)
    except ValueError as exc:
        raise InvalidCertificate(f"{what} is not an X.509 certificate (PEM or DER)") from exc


@dataclass(frozen=True)
class RegistryInfo:
    instance: str
    serial: int
    changed_at: dt.datetime


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    revoked: bool


class Registry:
    """Operations on the registry database; safe to share between threads."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    @classmethod
    def open(cls, url: str | Path, *, clock: Callable[[], dt.datetime] = utc_now) -> Registry:
        """Open (and migrate) the registry at an SQLite file path or a database URL."""
        return cls(open_engine(url), clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> dt.datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            raise RegistryInvalidInput("the registry clock returned a naive datetime")
        return moment

    # -- transactions ---------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise DatabaseFailure(f"registry read failed: {type(exc).__name__}") from exc

    @contextmanager
    def _change(self, *, bump: bool = True) -> Iterator[Session]:
        """One write transaction; ``bump`` (changes that alter the published configuration)
        increments the serial in it. Any error rolls everything back.

        The transaction starts with a write to the state row. On SQLite that takes the
        write lock before anything is read, so two writers (``serve`` and a CLI command)
        queue on ``busy_timeout`` instead of failing with a lock upgrade deadlock; on
        PostgreSQL it row-locks the state, so concurrent changes from several nodes are
        serialised and the serial never skips or repeats.
        """
        try:
            with Session(self.engine) as session, session.begin():
                locked = session.execute(
                    update(RegistryState).where(RegistryState.id == 1).values(serial=RegistryState.serial)
                )
                if getattr(locked, "rowcount", 1) == 0:
                    raise NotInitialised("the registry is not initialised (run `sild central init`)")
                yield session
                session.flush()
                state = session.get(RegistryState, 1)
                if state is None:
                    raise NotInitialised("the registry is not initialised (run `sild central init`)")
                if bump:
                    state.serial += 1
                    state.changed_at = self.now()
        except IntegrityError as exc:
            raise RegistryError(f"the change conflicts with the registry: {exc.orig}", code="federation.registry.conflict") from exc
        except SQLAlchemyError as exc:
            raise DatabaseFailure(f"registry write failed: {type(exc).__name__}") from exc

    # -- state ------------------------------------------------------------------
    def initialise(self, instance: str) -> None:
        """Create the state row and the built-in group; refuses a second initialisation."""
        if not instance or "/" in instance or len(instance) > 64:
            raise RegistryInvalidInput(f"invalid instance identifier {instance!r}")
        with self._session() as s:
            if s.get(RegistryState, 1) is not None:
                raise RegistryInvalidInput("the registry is already initialised", code="federation.registry.initialised")
            s.add(RegistryState(id=1, instance=instance, serial=1, changed_at=self.now()))
            s.add(
                GlobalGroupRow(
                    code=SECURITY_SERVER_OWNERS_GROUP, description="Security server owners", built_in=True
                )
            )

    def info(self) -> RegistryInfo:
        with self._session() as s:
            state = self._state(s)
            return RegistryInfo(state.instance, state.serial, state.changed_at)

    @property
    def instance(self) -> str:
        return self.info().instance

    def _state(self, s: Session) -> RegistryState:
        state = s.get(RegistryState, 1)
        if state is None:
            raise NotInitialised("the registry is not initialised (run `sild central init`)")
        return state

    def _check_instance(self, s: Session, instance: str) -> None:
        own = self._state(s).instance
        if instance != own:
            raise WrongInstance(f"identifier names instance {instance!r}; this registry governs {own!r}")

    # -- lookups ------------------------------------------------------------------
    def _member_class(self, s: Session, code: str) -> MemberClassRow:
        row = s.scalar(select(MemberClassRow).where(MemberClassRow.code == code))
        if row is None:
            raise UnknownMemberClass(f"unknown member class {code!r}")
        return row

    def _member(self, s: Session, member: MemberId) -> MemberRow:
        self._check_instance(s, member.instance)
        row = s.scalar(
            select(MemberRow)
            .join(MemberClassRow)
            .where(MemberClassRow.code == member.member_class, MemberRow.member_code == member.member_code)
        )
        if row is None:
            raise UnknownMember(f"unknown member {member.to_text()}")
        return row

    def _subsystem(self, s: Session, subsystem: SubsystemId) -> SubsystemRow:
        member = self._member(s, subsystem.member)
        for sub in member.subsystems:
            if sub.code == subsystem.subsystem_code:
                return sub
        raise UnknownSubsystem(f"unknown subsystem {subsystem.to_text()}")

    def _client_rows(self, s: Session, client: ClientId) -> tuple[MemberRow, SubsystemRow | None]:
        if isinstance(client, SubsystemId):
            sub = self._subsystem(s, client)
            return sub.member, sub
        return self._member(s, client), None

    def _gateway(self, s: Session, server: SecurityServerId) -> GatewayRow:
        owner = self._member(s, server.owner)
        row = s.scalar(select(GatewayRow).where(GatewayRow.owner_id == owner.id, GatewayRow.server_code == server.server_code))
        if row is None:
            raise UnknownGateway(f"unknown gateway {server.to_text()}")
        return row

    # -- member classes, members, subsystems ------------------------------------
    def add_member_class(self, code: str, description: str = "") -> None:
        if not code or "/" in code:
            raise RegistryInvalidInput(f"invalid member class code {code!r}")
        with self._change() as s:
            if s.scalar(select(MemberClassRow).where(MemberClassRow.code == code)) is not None:
                raise DuplicateName(f"member class {code!r} exists")
            s.add(MemberClassRow(code=code, description=description))

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

    def remove_subsystem(self, subsystem: SubsystemId) -> None:
        with self._change() as s:
            s.delete(self._subsystem(s, subsystem))

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
        if not code or "/" in code:
            raise RegistryInvalidInput(f"invalid global group code {code!r}")
        with self._change() as s:
            if s.scalar(select(GlobalGroupRow).where(GlobalGroupRow.code == code)) is not None:
                raise DuplicateName(f"global group {code!r} exists")
            s.add(GlobalGroupRow(code=code, description=description, built_in=False))

    def _group(self, s: Session, code: str, *, editable: bool) -> GlobalGroupRow:
        group = s.scalar(select(GlobalGroupRow).where(GlobalGroupRow.code == code))
        if group is None:
            raise RegistryNotFound(f"unknown global group {code!r}", code="federation.registry.unknown_group")
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

    def remove_global_group(self, code: str) -> None:
        with self._change() as s:
            s.delete(self._group(s, code, editable=True))

    # -- approved CAs and TSAs ------------------------------------------------------
    def add_ca(
        self,
        name: str,
        cert: bytes,
        *,
        ocsp: Sequence[tuple[str, bytes | None]] = (),
        certificate_profile: str,
        authentication_only: bool = False,
        intermediates: Sequence[bytes] = (),
    ) -> None:
        if not name.strip():
            raise RegistryInvalidInput("an approved CA needs a name")
        if not certificate_profile.strip():
            raise RegistryInvalidInput("an approved CA needs a certificate profile")
        der = load_der_certificate(cert, f"certificate of CA {name!r}")
        responders = []
        for url, ocsp_cert in ocsp:
            if not url.startswith(("http://", "https://")):
                raise RegistryInvalidInput(f"OCSP responder URL {url!r} must be http(s)")
            responders.append(OcspRow(url=url, cert_der=load_der_certificate(ocsp_cert, "OCSP responder certificate") if ocsp_cert else None))
        inter = [IntermediateCaRow(cert_der=load_der_certificate(i, "intermediate CA certificate")) for i in intermediates]
        with self._change() as s:
            if s.scalar(select(CaRow).where(CaRow.name == name)) is not None:
                raise DuplicateName(f"approved CA {name!r} exists")
            s.add(
                CaRow(
                    name=name,
                    cert_der=der,
                    authentication_only=authentication_only,
                    certificate_profile=certificate_profile,
                    created_at=self.now(),
                    ocsp=responders,
                    intermediates=inter,
                )
            )

    def remove_ca(self, name: str) -> None:
        with self._change() as s:
            row = s.scalar(select(CaRow).where(CaRow.name == name))
            if row is None:
                raise RegistryNotFound(f"unknown approved CA {name!r}", code="federation.registry.unknown_ca")
            s.delete(row)

    def cas(self) -> list[dict[str, object]]:
        with self._session() as s:
            return [
                {
                    "name": r.name,
                    "certSha256": hashlib.sha256(r.cert_der).hexdigest(),
                    "certificateProfile": r.certificate_profile,
                    "authenticationOnly": r.authentication_only,
                    "ocsp": [o.url for o in r.ocsp],
                }
                for r in s.scalars(select(CaRow).order_by(CaRow.name))
            ]

    def add_tsa(self, name: str, url: str, cert: bytes) -> None:
        if not name.strip():
            raise RegistryInvalidInput("an approved TSA needs a name")
        if not url.startswith(("http://", "https://")):
            raise RegistryInvalidInput(f"TSA URL {url!r} must be http(s)")
        der = load_der_certificate(cert, f"certificate of TSA {name!r}")
        with self._change() as s:
            if s.scalar(select(TsaRow).where(TsaRow.name == name)) is not None:
                raise DuplicateName(f"approved TSA {name!r} exists")
            s.add(TsaRow(name=name, url=url, cert_der=der, created_at=self.now()))

    def remove_tsa(self, name: str) -> None:
        with self._change() as s:
            row = s.scalar(select(TsaRow).where(TsaRow.name == name))
            if row is None:
                raise RegistryNotFound(f"unknown approved TSA {name!r}", code="federation.registry.unknown_tsa")
            s.delete(row)

    def tsas(self) -> list[dict[str, object]]:
        with self._session() as s:
            return [
                {"name": r.name, "url": r.url, "certSha256": hashlib.sha256(r.cert_der).hexdigest()}
                for r in s.scalars(select(TsaRow).order_by(TsaRow.name))
            ]

    # -- settings -----------------------------------------------------------------
    def set_setting(self, name: str, value: str | int) -> None:
        self.set_settings({name: value})

    def set_settings(self, values: dict[str, str | int]) -> None:
        """Validate every value first, then store them all in one transaction."""
        if not values:
            raise InvalidSetting("no setting given")
        checked = {name: self._check_setting(name, value) for name, value in values.items()}
        with self._change() as s:
            for name, text in checked.items():
                row = s.get(Setting, name)
                if row is None:
                    s.add(Setting(name=name, value=text))
                else:
                    row.value = text

    @staticmethod
    def _check_setting(name: str, value: str | int) -> str:
        text = str(value).strip()
        if name in SETTINGS:
            try:
                number = int(text)
            except ValueError:
                raise InvalidSetting(f"{name} must be an integer, not {text!r}") from None
            minimum = SETTINGS[name][1]
            if number < minimum:
                raise InvalidSetting(f"{name} must be at least {minimum}")
            text = str(number)
        elif name == "centralUrl":
            if not text.startswith(("http://", "https://")) or "/" in text.split("://", 1)[1].rstrip("/"):
                raise InvalidSetting(f"centralUrl must be http(s)://host[:port], not {text!r}")
            text = text.rstrip("/")
        elif name == "managementServiceProviderId":
            try:
                parse_client(text)
            except IdentifierError as exc:
                raise InvalidSetting(f"managementServiceProviderId: {exc}") from exc
        else:
            known = ", ".join([*SETTINGS, *TEXT_SETTINGS])
            raise InvalidSetting(f"unknown setting {name!r}; known: {known}")
        return text

    def settings(self) -> dict[str, str]:
        """Every setting with its value or default (integers as text)."""
        with self._session() as s:
            stored = {r.name: r.value for r in s.scalars(select(Setting))}
        out = {name: stored.get(name, str(default)) for name, (default, _) in SETTINGS.items()}
        for name in TEXT_SETTINGS:
            if name in stored:
                out[name] = stored[name]
        return out

    def int_setting(self, name: str) -> int:
        return int(self.settings()[name])

    # -- trusted anchors of federated instances ---------------------------------------
    def add_trusted_anchor(self, instance: str, anchor_xml: bytes, *, generated_at: dt.datetime | None) -> str:
        """Store a validated anchor (replacing an older one of the same instance); returns its SHA-224 hex."""
        digest = hashlib.sha224(anchor_xml).hexdigest()
        with self._change() as s:
            if instance == self._state(s).instance:
                raise WrongInstance(f"the anchor is of this instance {instance!r}, not of a federated one")
            row = s.scalar(select(TrustedAnchorRow).where(TrustedAnchorRow.instance == instance))
            if row is None:
                s.add(
                    TrustedAnchorRow(
                        instance=instance, anchor_xml=anchor_xml, sha224_hex=digest, generated_at=generated_at, added_at=self.now()
                    )
                )
            else:
                row.anchor_xml, row.sha224_hex, row.generated_at, row.added_at = anchor_xml, digest, generated_at, self.now()
        return digest

    def remove_trusted_anchor(self, instance: str) -> None:
        with self._change() as s:
            row = s.scalar(select(TrustedAnchorRow).where(TrustedAnchorRow.instance == instance))
            if row is None:
                raise RegistryNotFound(f"no trusted anchor of instance {instance!r}", code="federation.registry.unknown_anchor")
            s.delete(row)

    def trusted_anchors(self) -> list[tuple[str, bytes, str, dt.datetime]]:
        """``(instance, anchor bytes, SHA-224 hex, added at)``."""
        with self._session() as s:
            rows = s.scalars(select(TrustedAnchorRow).order_by(TrustedAnchorRow.instance))
            return [(r.instance, r.anchor_xml, r.sha224_hex, r.added_at) for r in rows]

    # -- signing keys ---------------------------------------------------------------
    def add_signing_key(self, key_id: str, kind: str, cert_der: bytes, *, status: str = "pending") -> None:
        if kind not in KEY_KINDS:
            raise RegistryInvalidInput(f"signing key kind must be one of {KEY_KINDS}")
        if status not in ("pending", "active"):
            raise RegistryInvalidInput("a new signing key is pending or active")
        der = load_der_certificate(cert_der, "signing key certificate")
        with self._change() as s:
            if s.scalar(select(SigningKeyRow).where(SigningKeyRow.key_id == key_id)) is not None:
                raise DuplicateName(f"signing key {key_id!r} exists")
            now = self.now()
            if status == "active":
                self._retire_active(s, kind)
            s.add(SigningKeyRow(key_id=key_id, kind=kind, status=status, cert_der=der, created_at=now,
                                activated_at=now if status == "active" else None))

    def _retire_active(self, s: Session, kind: str) -> None:
        for row in s.scalars(select(SigningKeyRow).where(SigningKeyRow.kind == kind, SigningKeyRow.status == "active")):
            row.status = "retired"

    def activate_signing_key(self, key_id: str) -> None:
        """Make a pending key the signing key of its kind; the previous one is retired."""
        with self._change() as s:
            row = s.scalar(select(SigningKeyRow).where(SigningKeyRow.key_id == key_id))
            if row is None:
                raise RegistryNotFound(f"unknown signing key {key_id!r}", code="federation.registry.unknown_key")
            if row.status != "pending":
                raise RegistryInvalidInput(f"signing key {key_id!r} is {row.status}, not pending")
            self._retire_active(s, row.kind)
            row.status = "active"
            row.activated_at = self.now()

    def remove_signing_key(self, key_id: str) -> None:
        """Forget a retired (or pending) key: its certificate leaves the published sources."""
        with self._change() as s:
            row = s.scalar(select(SigningKeyRow).where(SigningKeyRow.key_id == key_id))
            if row is None:
                raise RegistryNotFound(f"unknown signing key {key_id!r}", code="federation.registry.unknown_key")
            if row.status == "active":
                raise InUse(f"signing key {key_id!r} is active; activate another key first")
            s.delete(row)

    def signing_keys(self, kind: str | None = None) -> list[tuple[str, str, str, bytes]]:
        """``(key id, kind, status, cert DER)`` ordered by creation."""
        with self._session() as s:
            query = select(SigningKeyRow).order_by(SigningKeyRow.id)
            if kind is not None:
                query = query.where(SigningKeyRow.kind == kind)
            return [(r.key_id, r.kind, r.status, r.cert_der) for r in s.scalars(query)]

    # -- API keys -----------------------------------------------------------------------
    def create_api_key(self, name: str, roles: Sequence[str], *, secret: str | None = None) -> str:
        """Store a new key's SHA-256 and return the key (shown once; not recoverable)."""
        bad = [r for r in roles if r not in ROLES]
        if bad or not roles:
            raise RegistryInvalidInput(f"roles must be some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")
        if not name.strip():
            raise RegistryInvalidInput("an API key needs a name")
        key = secret or "sild_" + secrets.token_urlsafe(32)
        with self._change(bump=False) as s:
            if s.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name)) is not None:
                raise DuplicateName(f"API key {name!r} exists")
            s.add(ApiKeyRow(name=name, key_sha256_hex=hashlib.sha256(key.encode()).hexdigest(),
                            roles=",".join(sorted(set(roles))), created_at=self.now(), revoked=False))
        return key

    def authenticate_api_key(self, key: str) -> tuple[str, frozenset[str]] | None:
        """``(name, roles)`` of a valid, unrevoked key, or None."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        with self._session() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_sha256_hex == digest))
            if row is None or row.revoked or not secrets.compare_digest(row.key_sha256_hex, digest):
                return None
            return row.name, frozenset(row.roles.split(","))

    def revoke_api_key(self, name: str) -> None:
        with self._change(bump=False) as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
            if row is None:
                raise RegistryNotFound(f"unknown API key {name!r}", code="federation.registry.unknown_api_key")
            row.revoked = True

    def api_keys(self) -> list[ApiKeyInfo]:
        with self._session() as s:
            return [
                ApiKeyInfo(r.name, tuple(r.roles.split(",")), r.created_at, r.revoked)
                for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))
            ]

    # -- whole-registry reads ----------------------------------------------------------
    def snapshot(self) -> RegistrySnapshot:
        from .registry_snapshot import read_snapshot

        with self._session() as s:
            return read_snapshot(s)


from .registry_snapshot import RegistrySnapshot  # noqa: E402  (cycle: the snapshot reads these rows)
