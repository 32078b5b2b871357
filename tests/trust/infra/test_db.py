"""trust.infra._db.open_engine: the one way the CA, the registry and a gateway open a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from trust.infra import _db
from trust.infra import MIGRATION_ATTEMPTS, migrate_schema, open_engine
from trust.services import VERSION_TABLE
from trust.services._ca_db import MIGRATIONS


class StoreError(Exception):
    """The caller's own error class, built by ``fail``."""


def _open(url: Any, **kw: Any) -> Any:
    return open_engine(url, migrations=MIGRATIONS, fail=StoreError, name="test database", **kw)


def test_an_sqlite_file_gets_its_pragmas_and_its_schema(tmp_path: Path) -> None:
    engine = _open(tmp_path / "t.db", busy_timeout_ms=1234, foreign_keys=True, synchronous="normal")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert {"issued_certificate", VERSION_TABLE} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = _open(tmp_path / "t.db")  # a second start finds the schema at head: nothing to do
    again.dispose()


def test_without_migrate_the_schema_is_left_alone(tmp_path: Path) -> None:
    engine = _open(tmp_path / "t.db", migrate=False)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_refusals_are_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="in-memory SQLite test database"):
        _open("sqlite://")
    with pytest.raises(StoreError, match="synchronous"):
        _open(tmp_path / "t.db", synchronous="OFF")
    with pytest.raises(ValueError, match="cache_kib"):  # a programming error stays a ValueError
        _open(tmp_path / "t.db", cache_kib=-1)


def test_a_failed_migration_is_retried_then_becomes_the_callers_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreError, match="test database migration failed"):
        _open(garbage)


def test_a_lost_migration_race_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _open(tmp_path / "t.db", migrate=False)
    real = _db.command.upgrade
    calls: list[str] = []

    def flaky(cfg: Any, revision: str) -> None:
        calls.append(revision)
        if len(calls) < MIGRATION_ATTEMPTS:
            raise OperationalError("CREATE TABLE", {}, Exception("table already exists"))
        real(cfg, revision)

    monkeypatch.setattr(_db.command, "upgrade", flaky)
    try:
        migrate_schema(engine, MIGRATIONS, fail=StoreError)
        assert len(calls) == MIGRATION_ATTEMPTS
        assert "issued_certificate" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_server_database_is_pinged_before_use() -> None:
    pytest.importorskip("psycopg")
    engine = _open("postgresql+psycopg://sild@127.0.0.1:1/none", migrate=False)  # no connection is made yet
    try:
        assert engine.pool._pre_ping  # noqa: SLF001 - the pool keeps the flag privately
    finally:
        engine.dispose()
    plain = _open("postgresql+psycopg://sild@127.0.0.1:1/none", migrate=False, pool_pre_ping=False)
    assert not plain.pool._pre_ping  # noqa: SLF001
    plain.dispose()
