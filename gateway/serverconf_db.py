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

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from .errors import GatewayError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# alembic's migration context is a module-level global, so migrations in one process
# run one at a time (across processes the retry in migrate_database handles races)
_MIGRATION_LOCK = threading.Lock()
_SYNC_MODES = ("NORMAL", "FULL", "EXTRA")


class DatabaseError(GatewayError):
    """The gateway database cannot be opened or migrated."""

    code = "gateway.database.error"


def database_url(path_or_url: str | Path) -> str:
    """A file path becomes an SQLite URL; a URL is returned unchanged."""
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def open_engine(url: str | Path, *, synchronous: str = "FULL", migrate: bool = True, **engine_kw: Any) -> Engine:
    """Create the engine, apply the SQLite pragmas and (by default) migrate to the newest schema."""
    url = database_url(url)
    sync = synchronous.upper()
    if sync not in _SYNC_MODES:
        raise DatabaseError(f"synchronous must be one of {', '.join(_SYNC_MODES)}, not {synchronous!r}")
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        engine_kw.setdefault("connect_args", {})
        engine_kw["connect_args"].setdefault("timeout", 30)
        engine_kw["connect_args"].setdefault("check_same_thread", False)
        busy_ms = int(float(engine_kw["connect_args"]["timeout"]) * 1000)
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            raise DatabaseError("an in-memory SQLite database cannot be shared; use a file")
    else:
        engine_kw.setdefault("pool_pre_ping", True)  # survive a database restart or fail-over
    try:
        engine = create_engine(url, **engine_kw)
    except (SQLAlchemyError, ImportError) as exc:
        raise DatabaseError(f"cannot open database {url.split('@')[-1]}: {exc}") from exc
    if is_sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    if migrate:
        migrate_database(engine)
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate_database(engine: Engine, revision: str = "head", *, attempts: int = 3) -> None:
    """Bring the schema to ``revision`` (alembic upgrade) on the given engine.

    Two processes starting at once on a new database (the server and a CLI command)
    race to create the tables; the loser's migration fails and is simply retried, and
    the retry finds the schema already there.
    """
    cfg = alembic_config(engine)
    for attempt in range(1, attempts + 1):
        try:
            with _MIGRATION_LOCK, engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        except SQLAlchemyError as exc:
            if attempt == attempts:
                raise DatabaseError(f"database migration failed: {exc}") from exc
            time.sleep(0.2 * attempt)
