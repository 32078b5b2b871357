"""The cross-process commit lock of an SQLite message log (gateway.messagelog_lock)."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gateway.messagelog import MessageLog
from gateway.messagelog_lock import CommitLock
from gateway.serverconf_db import open_engine

from .test_messagelog import T0, entry

pytestmark = pytest.mark.timeout(60)


def test_the_lock_file_sits_beside_the_database_and_is_private(tmp_path: Path) -> None:
    lock = CommitLock(create_engine(f"sqlite:///{tmp_path / 'log.db'}"))
    assert lock.path == tmp_path / "log.db-writer.lock"
    with lock:
        assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    lock.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://u@127.0.0.1/db"])
def test_nothing_to_lock_without_an_sqlite_file(url: str) -> None:
    lock = CommitLock(create_engine(url))
    assert lock.path is None
    with lock:  # a no-op
        pass


def test_a_second_holder_waits_until_the_first_releases(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    first, second = CommitLock(engine), CommitLock(engine)  # two open files, as two processes have
    events: list[str] = []
    entered = threading.Event()

    def take_second() -> None:
        entered.set()
        with second:
            events.append("second in")

    with first:
        events.append("first in")
        thread = threading.Thread(target=take_second)
        thread.start()
        entered.wait(5)
        thread.join(0.3)
        assert thread.is_alive()  # still waiting for the lock
        events.append("first out")
    thread.join(5)
    assert events == ["first in", "first out", "second in"]


def _op_record() -> dict[str, object]:
    return {"monitoringDataTs": 1780000000, "securityServerType": "Client", "succeeded": True,
            "clientXRoadInstance": "EE", "clientMemberClass": "GOV", "clientMemberCode": "70000001",
            "clientSubsystemCode": "tax"}


@pytest.mark.parametrize("writer", ["message log", "operational monitoring"])
def test_a_commit_waits_for_another_process_holding_the_lock(tmp_path: Path, writer: str) -> None:
    from gateway.opmonitoring import OpMonitor

    engine = open_engine(tmp_path / "log.db")
    mlog, opmon = MessageLog(engine, clock=lambda: T0), OpMonitor(engine)
    write = (lambda: mlog.append(entry("q-locked"))) if writer == "message log" else (lambda: opmon.store_many([_op_record()]))
    holder = subprocess.Popen(  # another process takes the lock and keeps it until told
        [sys.executable, "-c", "import fcntl, os, sys\n"
         f"fd = os.open({str(tmp_path / 'log.db-writer.lock')!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = threading.Event()
        thread = threading.Thread(target=lambda: (write(), done.set()))
        thread.start()
        assert not done.wait(0.5)  # the commit waits for the other process
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert done.wait(10)
        thread.join(5)
    finally:
        holder.kill()
        holder.wait()
    if writer == "message log":
        assert mlog.find("q-locked")
    else:
        assert len(opmon.query(1779999999, 1780000001).records) == 1
