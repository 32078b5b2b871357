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

from sqlalchemy import Engine

from trust.infra import database_url, migrate_schema
from trust.infra import open_engine as open_database

from ._errors import DatabaseFailure

__all__ = ["MIGRATIONS", "database_url", "migrate_database", "open_engine"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_registry"
_NAME = "registry database"


def open_engine(url: str | Path, *, migrate: bool = True, **engine_kw: Any) -> Engine:
    """Open the registry through :func:`trust.infra.open_engine`: its pragmas, its chain, its error."""
    # explicit_begin: the generator's multi-query snapshot must see one state of the registry
    return open_database(url, migrations=MIGRATIONS, fail=DatabaseFailure, name=_NAME, migrate=migrate,
                         synchronous="FULL", busy_timeout_ms=30000, foreign_keys=True, explicit_begin=True,
                         **engine_kw)


def migrate_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (alembic upgrade) inside one transaction."""
    migrate_schema(engine, MIGRATIONS, fail=DatabaseFailure, name=_NAME, revision=revision)
