"""Foundation of the registry: opening, the clock, transactions, lookups.

Every public registry operation runs in one transaction made by :meth:`RegistryBase._change`:
input is checked before anything is written, database constraint violations become
specific :mod:`federation.central.registry._errors` leaves, and any error rolls the whole
transaction back, so the registry never half-applies a change. A successful change
that alters the published configuration increments ``registry_state.serial`` in the
same transaction; :mod:`federation.central._generator` republishes when it sees a new serial.

The clock is a constructor parameter (``clock``) so that tests pass their moments;
it must return aware datetimes. The operations themselves live in
:mod:`federation.central.registry._security` (trust services, settings, anchors, keys, API keys)
and :mod:`federation.central.registry._registry` (members, subsystems, gateways, groups).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self, TypeVar

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, Select, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from trust.protocol import ClientId, MemberId, SecurityServerId, SubsystemId
from trust.infra import record_in_transaction, transaction, utc_now
from trust.pki import CertificateError, read_certificate

from federation.model import SECURITY_SERVER_OWNERS_GROUP
from ._db import open_engine
from ._errors import (
    DatabaseFailure, InvalidCertificate, NotInitialised, RegistryError, RegistryInvalidInput, RegistryNotFound,
    UnknownGateway, UnknownMember, UnknownMemberClass, UnknownSubsystem, WrongInstance,
)
from ._models import AuditRow, GatewayRow, GlobalGroupRow, MemberClassRow, MemberRow, RegistryState, SubsystemRow

R = TypeVar("R")


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
TEXT_SETTINGS = ("centralUrl", "additionalNodeUrls", "managementServiceProviderId", "monitoringClientId")


def load_der_certificate(data: bytes, what: str) -> bytes:
    """PEM or DER in, the DER bytes out; anything else is :class:`InvalidCertificate`."""
    try:
        cert = read_certificate(data)
    except CertificateError as exc:
        raise InvalidCertificate(f"{what} is not an X.509 certificate (PEM or DER)") from exc
    return bytes(data) if b"-----BEGIN" not in data else cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class RegistryInfo:
    instance: str
    serial: int
    changed_at: dt.datetime


class RegistryBase:
    """Engine, clock, transactions and row lookups shared by the registry operations."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    @classmethod
    def open(cls, url: str | Path, *, clock: Callable[[], dt.datetime] = utc_now) -> Self:
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
    def _session(self) -> AbstractContextManager[Session]:
        return transaction(self.engine, lambda exc: DatabaseFailure(f"registry read failed: {type(exc).__name__}"))

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
                # the administrative action under way (API call, CLI command) commits with its change
                action = record_in_transaction(session.connection(), AuditRow.__table__)
            if action is not None:
                action.written = True
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
    @staticmethod
    def _one(s: Session, query: Select[R], missing: str, code: str) -> R:
        """The row ``query`` selects; none is :class:`RegistryNotFound` (``missing``, ``code``)."""
        row = s.scalar(query)
        if row is None:
            raise RegistryNotFound(missing, code=code)
        return row

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

