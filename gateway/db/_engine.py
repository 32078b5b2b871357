"""Opening a gateway database: SQLite (WAL) by default, PostgreSQL by URL; migrations at start.

SQLite settings, and why:

* ``journal_mode=WAL``: readers (the proxy's configuration snapshot, the admin API,
  the timestamper reading unstamped records) never block the writer that appends to
  the message log, and the writer never blocks them.
* ``synchronous=FULL`` by default: in WAL mode ``NORMAL`` cannot corrupt the database
  but a power loss may drop the last commits, and a message-log commit is the
  promise that the exchange is on record before the answer leaves the gateway. FULL
  still commits ~7,300 times a second on the reference machine (NORMAL ~20,000), far
  above the hundreds of exchanges per second a node serves, so sild pays for
  durability. ``open_engine(..., synchronous="NORMAL")`` trades it back where an
  operator accepts the risk (e.g. a battery-backed disk).
* ``busy_timeout``: concurrent writers (two worker threads, the admin API, the
  archiver) wait for the lock instead of failing.
* ``foreign_keys=ON``: the cascades of the models are enforced.

PostgreSQL uses the same models and the same alembic chain; only the URL differs
(``postgresql+psycopg://...``, driver from the ``postgres`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from trust.infra import MIGRATION_ATTEMPTS, database_url, migrate_schema
from trust.infra import open_engine as open_database

from gateway.errors import GatewayError

__all__ = ["MIGRATIONS", "DatabaseError", "database_url", "migrate_database", "open_engine"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# own version table: the gateway's chain can share a PostgreSQL database with others
VERSION_TABLE = "gateway_alembic_version"


class DatabaseError(GatewayError):
    """The gateway database cannot be opened or migrated."""

    code = "gateway.database.error"


def open_engine(url: str | Path, *, synchronous: str = "FULL", migrate: bool = True, **engine_kw: Any) -> Engine:
    """Open a gateway database through :func:`trust.infra.open_engine`: its pragmas, its chain, its error.

    ``busy_timeout`` follows the driver timeout in ``connect_args`` (30 s unless given).
    """
    return open_database(url, migrations=MIGRATIONS, fail=DatabaseError, migrate=migrate, synchronous=synchronous,
                         foreign_keys=True, **engine_kw)


def migrate_database(engine: Engine, revision: str = "head", *, attempts: int = MIGRATION_ATTEMPTS) -> None:
    """Bring the schema to ``revision`` (alembic upgrade) on the given engine.

    Two processes starting at once on a new database (the server and a CLI command)
    race to create the tables; the loser's migration fails and is simply retried, and
    the retry finds the schema already there.
    """
    migrate_schema(engine, MIGRATIONS, fail=DatabaseError, revision=revision, attempts=attempts)
