"""The audit log's store: secrets never stored, rows never changed, tampering found, no fork under concurrency.

Run on both roles' real tables and migrations: the gateway's ``audit_log`` (SQLite,
and PostgreSQL when the run has a server) and the registry's ``audit_entries``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from federation.central.registry import AuditRow, Registry
from gateway.db import AuditRecord, open_engine
from trust.infra import REDACTED, AuditEntry, AuditLog, new_api_key, redact

from tests.pgserver import temporary_database

PG_URL = os.environ.get("SILD_TEST_POSTGRES_URL")
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def _entry(n: int = 0, **params: object) -> AuditEntry:
    return AuditEntry(AT + dt.timedelta(seconds=n), "cli", "operator", "cli host /dev/pts/0", "gateway client add",
                      dict(params))


@pytest.fixture
def gateway_log(tmp_path) -> Iterator[AuditLog]:  # type: ignore[no-untyped-def]
    log = AuditLog(open_engine(tmp_path / "serverconf.db"), AuditRecord.__table__)
    yield log
    log.close()


def test_secrets_are_redacted_by_name_and_by_look() -> None:
    key = new_api_key()
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----"
    cleaned = redact({"pin": "1234", "tokenPin": "99", "so-pin": "1", "passphrase": "p w", "new_password": "x",
                      "client_secret": "s", "api_key": "k", "Authorization": "Bearer x", "note": key,
                      "cert": pem, "nested": {"passphrase": "inner"}, "list": ["ok", key],
                      "client": "EE/GOV/70000001/tax", "key_id": "abc", "pin_unset": None})
    assert cleaned == {"pin": REDACTED, "tokenPin": REDACTED, "so-pin": REDACTED, "passphrase": REDACTED,
                       "new_password": REDACTED, "client_secret": REDACTED, "api_key": REDACTED,
                       "Authorization": REDACTED, "note": REDACTED, "cert": REDACTED,
                       "nested": {"passphrase": REDACTED}, "list": ["ok", REDACTED],
                       "client": "EE/GOV/70000001/tax", "key_id": "abc", "pin_unset": None}


def test_values_are_bounded() -> None:
    cleaned = redact({"text": "x" * 10_000, "many": list(range(100))})
    assert len(cleaned["text"]) == 303 and cleaned["many"][-1] == "... 80 more" and len(cleaned["many"]) == 21


def test_a_stored_entry_holds_no_secret(gateway_log: AuditLog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = new_api_key()
    gateway_log.append(_entry(pin="4711-secret-pin", passphrase="correct horse", label=key))
    (row,) = gateway_log.entries()
    assert '"pin": "[redacted]"' in row.params and '"passphrase": "[redacted]"' in row.params
    gateway_log.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"4711-secret-pin" not in raw and b"correct horse" not in raw and key.encode() not in raw


def _refused(engine: Engine, statement: str) -> str:
    with pytest.raises(DBAPIError) as info, engine.begin() as conn:
        conn.execute(text(statement))
    return str(info.value)


def test_rows_cannot_be_updated_or_deleted_on_sqlite(gateway_log: AuditLog) -> None:
    gateway_log.append(_entry())
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        assert "audit_log is append-only" in _refused(gateway_log.engine, statement)
    assert [r.actor for r in gateway_log.entries()] == ["operator"]


def test_the_registry_table_is_append_only_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = AuditLog(Registry.open(tmp_path / "registry.db").engine, AuditRow.__table__)
    try:
        log.append(_entry())
        assert "audit_entries is append-only" in _refused(log.engine, "UPDATE audit_entries SET outcome = 'ok'")
        assert "audit_entries is append-only" in _refused(log.engine, "DELETE FROM audit_entries")
        assert log.verify().count == 1
    finally:
        log.close()


def test_postgresql_refuses_update_delete_and_truncate() -> None:
    if not PG_URL:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(PG_URL, "audit") as url:
        log = AuditLog(open_engine(url), AuditRecord.__table__)
        try:
            log.append(_entry())
            log.append(_entry(1))
            for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log WHERE id = 1",
                              "TRUNCATE audit_log"):
                assert "audit_log is append-only" in _refused(log.engine, statement)
            check = log.verify()
            assert check.intact and check.count == 2
        finally:
            log.close()


def test_verify_finds_a_changed_and_a_removed_row(gateway_log: AuditLog) -> None:
    for n in range(4):
        gateway_log.append(_entry(n, client=f"EE/GOV/7000000{n}"))
    assert gateway_log.verify().intact
    with gateway_log.engine.begin() as conn:  # someone with the file: triggers dropped, history rewritten
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE id = 3"))
    check = gateway_log.verify()
    assert (check.intact, check.broken_at, check.count) == (False, 3, 2) and "content" in check.reason
    with gateway_log.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id >= 2 AND id <= 3"))
    check = gateway_log.verify()
    assert (check.broken_at, check.count) == (4, 1) and "link" in check.reason


def test_concurrent_appends_do_not_fork_the_chain(gateway_log: AuditLog) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(15):
                gateway_log.append(_entry(n, worker=worker))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = gateway_log.verify()
    assert check.intact and check.count == 60


def test_paging_and_since(gateway_log: AuditLog) -> None:
    for n in range(5):
        gateway_log.append(_entry(n * 60))
    page = gateway_log.entries(limit=2)
    assert [r.id for r in page] == [5, 4]
    assert [r.id for r in gateway_log.entries(limit=2, before=page[-1].id)] == [3, 2]
    assert [r.id for r in gateway_log.entries(since=AT + dt.timedelta(minutes=3))] == [5, 4]


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        AuditEntry(dt.datetime(2026, 1, 1), "cli", "a", "b", "c")
