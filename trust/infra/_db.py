"""Storage plumbing shared by every sild database: the one opener, SQLite pragmas, UTC times, alembic.

Three registers use it: the CA's (``trust.services._ca_db``), the governing authority's
(``federation.central.registry._db``) and a gateway's (``gateway.db._engine``). They differ
in their tables, their migration chains and the trade-offs they make (how long a
writer waits, whether foreign keys cascade, how durable a commit is), so those are
parameters here; what they share is one way of doing it, :func:`open_engine`:

* an SQLite file by default, PostgreSQL by URL (:func:`database_url`); an in-memory
  SQLite database is a separate database per connection, so it is refused
  (:func:`is_memory_sqlite`);
* SQLite pragmas set on every new connection (:func:`open_store_engine`):
  ``journal_mode=WAL`` so that readers never block the writer, a ``synchronous``
  mode, a ``busy_timeout`` so that concurrent writers queue instead of failing, and
  ``foreign_keys`` where the models rely on cascades;
* on a server database, ``pool_pre_ping``: a pooled connection is tested before use,
  so a register survives a database restart or fail-over;
* alembic run programmatically inside one transaction (:func:`upgrade`), retried when
  two processes starting at once race to create the tables, each chain with its own
  version table (:func:`run_alembic_env`) so that several registers can share one
  PostgreSQL database;
* one ORM transaction per unit of work whose database errors become the caller's
  error (:func:`transaction`);
* times stored as UTC and given back aware (:class:`UtcDateTime`), naive ones refused.

Errors: each package keeps its own error class; :func:`open_engine` and
:func:`migrate_schema` build it through the caller's ``fail`` (``raise fail(message)
from exc``), as DESIGN.md section 6 asks. The lower-level functions let SQLAlchemy's
(and the driver's) exceptions through unchanged for the caller to translate.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from alembic import command, context
from alembic.config import Config
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

SYNC_MODES = ("NORMAL", "FULL", "EXTRA")
# alembic upgrade attempts when opening: two processes starting at once race to create the tables
MIGRATION_ATTEMPTS = 3

# alembic's migration context is a process-wide global (``alembic.context``), so
# migrations in one process, whichever register they belong to, run one at a time.
_MIGRATION_LOCK = threading.Lock()


def database_url(path_or_url: str | Path) -> str:
    """A file path becomes an SQLite URL; a URL is returned unchanged."""
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def safe_url(url: str) -> str:
    """The URL without credentials, for error messages."""
    return url.split("@")[-1]


def is_memory_sqlite(url: str) -> bool:
    """True for an in-memory SQLite URL, which cannot be shared between connections or processes."""
    return ":memory:" in url or url in ("sqlite://", "sqlite:///")


def open_store_engine(
    url: str,
    *,
    synchronous: str = "FULL",
    busy_timeout_ms: int | None = None,
    foreign_keys: bool = True,
    explicit_begin: bool = False,
    connect_defaults: bool = True,
    cache_kib: int | None = None,
    wal_autocheckpoint: int | None = None,
    **engine_kw: Any,
) -> Engine:
    """Create the engine for ``url`` and, on SQLite, set the pragmas on every new connection.

    ``connect_defaults`` gives SQLite connections a 30 s driver timeout and lets them
    move between threads (the pool hands them to worker threads). ``busy_timeout_ms``
    defaults to the driver timeout in ``connect_args`` (5 s, the driver's own default,
    when there is none). ``explicit_begin`` takes transaction control away from the
    ``sqlite3`` module, which otherwise runs SELECTs outside any transaction and opens
    one only at the first write: a multi-query read could then see two states of the
    database; SQLAlchemy emits ``BEGIN`` instead.

    ``cache_kib`` sets SQLite's page cache per connection (its default is 2 MiB). A
    large append-only log needs its indexes' pages in memory: with the default, every
    insert into a log of a few hundred MB re-reads index pages from the OS and costs
    measurably more (``docs/performance.md``).

    ``wal_autocheckpoint`` is the WAL size, in pages, past which a commit also copies
    the WAL into the database file (SQLite's default: 1,000). A store whose owner
    checkpoints in the background raises it, so that commits stay short.

    SQLAlchemy and driver errors (``SQLAlchemyError``, ``ImportError`` for a missing
    driver) propagate; the caller translates them.
    """
    sync = synchronous.upper()
    if sync not in SYNC_MODES:  # interpolated into a PRAGMA below: never anything else
        raise ValueError(f"synchronous must be one of {', '.join(SYNC_MODES)}, not {synchronous!r}")
    if not url.startswith("sqlite"):
        return create_engine(url, **engine_kw)
    if connect_defaults:
        engine_kw.setdefault("connect_args", {})
        engine_kw["connect_args"].setdefault("timeout", 30)
        engine_kw["connect_args"].setdefault("check_same_thread", False)
    if busy_timeout_ms is None:
        busy_timeout_ms = int(float(engine_kw.get("connect_args", {}).get("timeout", 5)) * 1000)
    busy_ms = int(busy_timeout_ms)
    if cache_kib is not None and (not isinstance(cache_kib, int) or cache_kib < 0):
        raise ValueError(f"cache_kib must be a non-negative whole number, not {cache_kib!r}")
    cache_pages = -cache_kib if cache_kib else 0  # negative: a size in KiB, whatever the page size
    if wal_autocheckpoint is not None and (not isinstance(wal_autocheckpoint, int) or wal_autocheckpoint < 0):
        raise ValueError(f"wal_autocheckpoint must be a non-negative whole number, not {wal_autocheckpoint!r}")
    engine = create_engine(url, **engine_kw)

    def _pragmas(dbapi_conn: Any, _record: object) -> None:
        if explicit_begin:
            dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        if cache_pages:
            cur.execute(f"PRAGMA cache_size={cache_pages}")
        if wal_autocheckpoint is not None:
            cur.execute(f"PRAGMA wal_autocheckpoint={wal_autocheckpoint}")
        if foreign_keys:
            cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    event.listen(engine, "connect", _pragmas)
    if explicit_begin:

        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        event.listen(engine, "begin", _begin)
    return engine


@contextmanager
def transaction(engine: Engine, fail: Callable[[SQLAlchemyError], Exception]) -> Iterator[Session]:
    """One ORM session in one transaction: committed when the block ends, rolled back on
    any error. An ``SQLAlchemyError`` (from the block or the commit) becomes ``fail(exc)``,
    raised from it: the caller's own error class and message."""
    try:
        with Session(engine) as session, session.begin():
            yield session
    except SQLAlchemyError as exc:
        raise fail(exc) from exc


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive values are refused.

    SQLite keeps no zone, so a value read back without one is UTC by construction.
    A subclass sets ``impl = DateTime`` and ``store_aware = False`` for a column
    declared without time zone (PostgreSQL ``timestamp``), which then holds naive
    UTC; ``naive_error`` is the exception a naive value raises.
    """

    impl: TypeEngine[Any] | type[TypeEngine[Any]] = DateTime(timezone=True)
    cache_ok = True
    store_aware: ClassVar[bool] = True
    naive_error: ClassVar[type[Exception]] = ValueError
    naive_message: ClassVar[str] = "naive datetime refused; pass an aware UTC moment"

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise type(self).naive_error(self.naive_message)
        value = value.astimezone(dt.timezone.utc)
        return value if self.store_aware else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def alembic_config(script_location: Path, engine: Engine | None = None) -> Config:
    """An alembic configuration for a migration chain; with ``engine``, its URL too
    (for alembic commands run without a connection handed in)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, cfg: Config, revision: str = "head", *, attempts: int = 1) -> None:
    """Bring the schema to ``revision`` (alembic upgrade) inside one transaction on ``engine``.

    With ``attempts`` > 1 a failed migration is retried after a short pause: two
    processes starting at once on a new database race to create the tables, and the
    loser's retry finds the schema already there. The last ``SQLAlchemyError`` propagates.
    """
    for attempt in range(1, attempts + 1):
        try:
            with _MIGRATION_LOCK, engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        except SQLAlchemyError:
            if attempt >= attempts:
                raise
            time.sleep(0.2 * attempt)


def run_alembic_env(target_metadata: MetaData, version_table: str) -> None:
    """The body of a chain's ``env.py``: migrate on the connection the caller handed in
    (``config.attributes["connection"]``, so the migration runs in the caller's
    transaction) or, run by the alembic command line, on the configured URL.

    Every chain has its own ``version_table`` so that several chains can share a
    database; ``render_as_batch`` because SQLite alters tables by copying them.
    """
    config = context.config
    if context.is_offline_mode():  # pragma: no cover - sild only migrates online
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)


def open_engine(
    url: str | Path,
    *,
    migrations: Path,
    fail: Callable[[str], Exception],
    name: str = "database",
    migrate: bool = True,
    synchronous: str = "FULL",
    **store_kw: Any,
) -> Engine:
    """Open a register's database: the engine, its pragmas and (by default) its schema at head.

    ``url`` is a file path (SQLite) or a URL; ``migrations`` is the register's alembic
    chain; ``name`` says which database it is in error messages ("CA database").
    ``synchronous`` and ``store_kw`` go to :func:`open_store_engine` (busy timeout,
    foreign keys, page cache, engine arguments such as ``pool_size``). A server
    database gets ``pool_pre_ping`` unless the caller says otherwise.

    Raises ``fail(message)`` for a bad ``synchronous`` mode, an in-memory SQLite URL,
    a database that cannot be opened (or a missing driver) and a failed migration;
    a bad pragma value (``cache_kib``, ``wal_autocheckpoint``) is a ``ValueError``.
    """
    url = database_url(url)
    sync = synchronous.upper()
    if sync not in SYNC_MODES:
        raise fail(f"synchronous must be one of {', '.join(SYNC_MODES)}, not {synchronous!r}")
    if url.startswith("sqlite"):
        if is_memory_sqlite(url):
            raise fail(f"an in-memory SQLite {name} cannot be shared between processes; use a file")
    else:
        store_kw.setdefault("pool_pre_ping", True)  # survive a database restart or fail-over
    try:
        engine = open_store_engine(url, synchronous=sync, **store_kw)
    except (SQLAlchemyError, ImportError) as exc:
        raise fail(f"cannot open {name} {safe_url(url)}: {exc}") from exc
    if migrate:
        migrate_schema(engine, migrations, fail=fail, name=name)
    return engine


def migrate_schema(
    engine: Engine,
    migrations: Path,
    *,
    fail: Callable[[str], Exception],
    name: str = "database",
    revision: str = "head",
    attempts: int = MIGRATION_ATTEMPTS,
) -> None:
    """Bring the schema of ``engine`` to ``revision`` of the chain in ``migrations``, in one
    transaction, retried ``attempts`` times (:func:`upgrade`); a failure raises ``fail(message)``."""
    try:
        upgrade(engine, alembic_config(migrations, engine), revision, attempts=attempts)
    except SQLAlchemyError as exc:
        raise fail(f"{name} migration failed: {exc}") from exc
