"""The CA's register of issued and revoked certificates (SQLAlchemy 2, SQLite WAL).

One row per issued certificate. Issuance inserts the row and writes the certificate
file inside one transaction: the row commits only after the file is durably on disk,
so a crash leaves either nothing, or an orphan file that no row (and so no OCSP
``good``) ever vouches for. Revocation is one conditional ``UPDATE`` in one
transaction. The OCSP responder reads this table live, so a revocation by the CLI is
answered at once by a running responder in another process (WAL readers never block).

The same model works on PostgreSQL by passing a ``postgresql://`` URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import DateTime, LargeBinary, String, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from trust.infra import UtcDateTime, migrate_schema, open_engine, transaction
from trust.errors import TrustError


class CaDatabaseError(TrustError):
    code = "trust.ca.database"


class _UtcDateTime(UtcDateTime):
    """Stores aware datetimes as naive UTC (columns without time zone) and gives them back aware."""

    impl = DateTime
    cache_ok = True
    store_aware = False
    naive_error = CaDatabaseError
    naive_message = "naive datetime refused"


class _Base(DeclarativeBase):
    pass


class IssuedCertificate(_Base):
    __tablename__ = "issued_certificate"

    serial_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(1024))
    member: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    server_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    issuer_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    sha256_hex: Mapped[str] = mapped_column(String(64), unique=True)
    not_before: Mapped[dt.datetime] = mapped_column(_UtcDateTime())
    not_after: Mapped[dt.datetime] = mapped_column(_UtcDateTime())
    issued_at: Mapped[dt.datetime] = mapped_column(_UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(_UtcDateTime(), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class CertificateRecord:
    """A read-only copy of a row, safe to use after the session closed."""

    serial: int
    kind: str
    subject: str
    member: str | None
    server_code: str | None
    issuer_fingerprint: str
    sha256_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    der: bytes

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _record(row: IssuedCertificate) -> CertificateRecord:
    return CertificateRecord(
        serial=int(row.serial_hex, 16),
        kind=row.kind,
        subject=row.subject,
        member=row.member,
        server_code=row.server_code,
        issuer_fingerprint=row.issuer_fingerprint,
        sha256_hex=row.sha256_hex,
        not_before=row.not_before,
        not_after=row.not_after,
        issued_at=row.issued_at,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        der=row.der,
    )


def serial_key(serial: int) -> str:
    """Fixed-width hex so that text order equals numeric order."""
    return f"{serial:040x}"


metadata = _Base.metadata
MIGRATIONS = Path(__file__).resolve().parent / "ca_migrations"
VERSION_TABLE = "sild_ca_alembic_version"
_NAME = "CA database"


class CaDatabase:
    """The register; opening it brings the schema to the newest alembic revision."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        # synchronous=FULL: a CA register favours durability over speed
        self.engine: Engine = open_engine(
            url, migrations=MIGRATIONS, fail=CaDatabaseError, name=_NAME, migrate=migrate,
            synchronous="FULL", busy_timeout_ms=5000, foreign_keys=False, connect_defaults=False)

    def migrate(self, revision: str = "head") -> None:
        migrate_schema(self.engine, MIGRATIONS, fail=CaDatabaseError, name=_NAME, revision=revision)

    def _session(self) -> AbstractContextManager[Session]:
        return transaction(self.engine, _database_error)

    def insert(self, record: CertificateRecord, before_commit: Callable[[], None]) -> None:
        """Insert ``record``; ``before_commit`` (the file write) runs inside the transaction."""
        row = IssuedCertificate(
            serial_hex=serial_key(record.serial), kind=record.kind, subject=record.subject,
            member=record.member, server_code=record.server_code,
            issuer_fingerprint=record.issuer_fingerprint, sha256_hex=record.sha256_hex,
            not_before=record.not_before, not_after=record.not_after, issued_at=record.issued_at,
            revoked_at=None, revocation_reason=None, der=record.der,
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()  # a duplicate serial fails here, before any file is written
                before_commit()
        except IntegrityError as exc:
            raise CaDatabaseError("serial number collision", code="trust.ca.serial_collision") from exc
        except SQLAlchemyError as exc:
            raise CaDatabaseError(f"CA database error: {exc.__class__.__name__}") from exc

    def get(self, serial: int) -> CertificateRecord | None:
        with self._session() as session:
            row = session.get(IssuedCertificate, serial_key(serial))
            return _record(row) if row is not None else None

    def status(self, serial: int) -> tuple[str, dt.datetime | None, str | None] | None:
        """(issuer fingerprint, revoked_at, reason) of a serial: the OCSP hot path, no ORM row."""
        table = IssuedCertificate.__table__
        query = select(table.c.issuer_fingerprint, table.c.revoked_at, table.c.revocation_reason).where(
            table.c.serial_hex == serial_key(serial))
        try:
            with self.engine.connect() as connection:
                row = connection.execute(query).first()
        except SQLAlchemyError as exc:
            raise CaDatabaseError(f"CA database error: {exc.__class__.__name__}") from exc
        if row is None:
            return None
        revoked_at = row[1]
        if isinstance(revoked_at, dt.datetime) and revoked_at.tzinfo is None:
            revoked_at = revoked_at.replace(tzinfo=dt.timezone.utc)
        return str(row[0]), revoked_at, row[2]

    def revoke(self, serial: int, at: dt.datetime, reason: str) -> bool:
        """Mark revoked; False when there is no such certificate or it was already revoked."""
        with self._session() as session:
            result = session.execute(
                update(IssuedCertificate)
                .where(IssuedCertificate.serial_hex == serial_key(serial), IssuedCertificate.revoked_at.is_(None))
                .values(revoked_at=at, revocation_reason=reason)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def revoked(self) -> list[CertificateRecord]:
        """Every revoked certificate, oldest revocation first (the reused-key check reads them)."""
        with self._session() as session:
            rows = session.scalars(select(IssuedCertificate).where(IssuedCertificate.revoked_at.is_not(None))
                                   .order_by(IssuedCertificate.revoked_at)).all()
            return [_record(r) for r in rows]

    def all(self) -> list[CertificateRecord]:
        with self._session() as session:
            rows = session.scalars(select(IssuedCertificate).order_by(IssuedCertificate.issued_at)).all()
            return [_record(r) for r in rows]

    def close(self) -> None:
        self.engine.dispose()


def _database_error(exc: SQLAlchemyError) -> CaDatabaseError:
    return CaDatabaseError(f"CA database error: {exc.__class__.__name__}")

