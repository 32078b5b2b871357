"""Background WAL checkpoints of the message log (gateway.messagelog._checkpoint)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gateway.messagelog import MessageLog
from gateway.messagelog import SAFETY_NET_PAGES, WalCheckpointer
from gateway.db import open_engine

from tests.gateway.messagelog.log_support import T0, entry

pytestmark = pytest.mark.timeout(60)


def _wal_pages(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return (wal.stat().st_size - 32) // (4096 + 24) if wal.exists() and wal.stat().st_size > 32 else 0


def test_commits_leave_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    engine = open_engine(db, wal_autocheckpoint=SAFETY_NET_PAGES)
    mlog = MessageLog(engine, clock=lambda: T0)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SAFETY_NET_PAGES
    size_before = db.stat().st_size
    for n in range(300):  # ~1,500 pages: past SQLite's default of 1,000, below the safety net
        mlog.append(entry(f"q-{n}", message=b"m" * 20000))
    assert _wal_pages(db) > 1000 and db.stat().st_size == size_before  # no commit copied anything back
    busy, frames, done = WalCheckpointer(engine).run_once()  # type: ignore[misc]
    assert busy == 0 and frames == done > 1000
    assert db.stat().st_size > size_before + 1000 * 4096  # the pages are in the database file now
    assert len(mlog.find("q-299")) == 1
    mlog.close()
    engine.dispose()


def test_the_checkpointer_thread_keeps_the_wal_copied(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    engine = open_engine(db, wal_autocheckpoint=SAFETY_NET_PAGES)
    mlog = MessageLog(engine, clock=lambda: T0)
    checkpointer = WalCheckpointer(engine, interval=0.05).start()
    try:
        for n in range(100):
            mlog.append(entry(f"t-{n}", message=b"m" * 20000))
        deadline = time.monotonic() + 20
        while db.stat().st_size <= 100 * 20000 and time.monotonic() < deadline:
            time.sleep(0.05)  # only the thread checkpoints: no commit reaches the safety net
        assert db.stat().st_size > 100 * 20000  # the thread copied the records into the file
    finally:
        checkpointer.stop()
        mlog.close()
        engine.dispose()
    assert checkpointer._thread is None


@pytest.mark.parametrize("url", ["sqlite://", "postgresql://u@127.0.0.1/db"])
def test_nothing_to_checkpoint_without_an_sqlite_file(url: str) -> None:
    checkpointer = WalCheckpointer(create_engine(url))
    assert checkpointer.run_once() is None
    checkpointer.start().stop()  # starts no thread, connects nowhere


def test_a_negative_autocheckpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="wal_autocheckpoint"):
        open_engine(tmp_path / "bad.db", wal_autocheckpoint=-1)
