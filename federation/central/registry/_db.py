"""Opening the registry database: SQLite (WAL) in the central directory by default,
PostgreSQL by URL; alembic migrations are applied at start-up.

Why these SQLite settings: WAL lets the distribution threads and the generator read
while a CLI command or the management API writes; ``synchronous=FULL`` because a
registry change (an approved gateway, a revoked CA) is an administrative act that
must survive a power loss, and the registry writes a few times a day, not thousands
of times a second; ``busy_timeout`` makes a CLI command wait for ``serve``'s writer
instead of failing; ``foreign_keys=ON`` makes the cascades of the models real.

PostgreSQL takes the same models and the same alembic chain; only the URL differs
(``postgresql+psycopg://user@host/db``, driver from the ``postgres`` extra). The
version table is ``alembic_version_registry`` so the registry can share a database
with other sild components without their migration chains colliding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from trust.infra import _db as sqlstore
from trust.infra import database_url

from ._errors import DatabaseFailure

__all__ = ["MIGRATIONS", "alembic_config", "database_url", "migrate_database", "open_engine"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_registry"


def open_engine(url: str | Path, *, migrate: bool = True, **engine_kw: Any) -> Engine:
    """Create the engine, apply the SQLite pragmas and (by default) migrate to head."""
    url = database_url(url)
    if url.startswith("sqlite") and sqlstore.is_memory_sqlite(url):
        raise DatabaseFailure("an in-memory SQLite registry cannot be shared between processes; use a file")
    try:
        # explicit_begin: the generator's multi-query snapshot must see one state of the registry
        engine = sqlstore.open_store_engine(url, synchronous="FULL", busy_timeout_ms=30000, foreign_keys=True,
                                            explicit_begin=True, **engine_kw)
    except (SQLAlchemyError, ImportError) as exc:
        raise DatabaseFailure(f"cannot open registry database {sqlstore.safe_url(url)}: {exc}") from exc
    if migrate:
        migrate_database(engine)
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    return sqlstore.alembic_config(MIGRATIONS, engine)


def migrate_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (alembic upgrade) inside one transaction."""
    try:
        sqlstore.upgrade(engine, alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise DatabaseFailure(f"registry migration failed: {exc}") from exc
