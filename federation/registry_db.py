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

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from .registry_errors import DatabaseFailure

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(path_or_url: str | Path) -> str:
    """A file path becomes an SQLite URL; a URL is returned unchanged."""
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def _safe_url(url: str) -> str:
    """The URL without credentials, for error messages."""
    return url.split("@")[-1]


def open_engine(url: str | Path, *, migrate: bool = True, **engine_kw: Any) -> Engine:
    """Create the engine, apply the SQLite pragmas and (by default) migrate to head."""
    url = database_url(url)
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            raise DatabaseFailure("an in-memory SQLite registry cannot be shared between processes; use a file")
        engine_kw.setdefault("connect_args", {})
        engine_kw["connect_args"].setdefault("timeout", 30)
        engine_kw["connect_args"].setdefault("check_same_thread", False)
    try:
        engine = create_engine(url, **engine_kw)
    except (SQLAlchemyError, ImportError) as exc:
        raise DatabaseFailure(f"cannot open registry database {_safe_url(url)}: {exc}") from exc
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            # The sqlite3 module would otherwise run SELECTs outside any transaction and
            # open one only at the first write: a multi-query read (the generator's
            # snapshot) could then see two states of the registry. SQLAlchemy emits BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    if migrate:
        migrate_database(engine)
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (alembic upgrade) inside one transaction."""
    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise DatabaseFailure(f"registry migration failed: {exc}") from exc
