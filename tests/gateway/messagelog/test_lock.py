"""The cross-process commit lock of an SQLite message log (gateway.messagelog._lock)."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gateway.messagelog import MessageLog
from gateway.messagelog import CommitLock
from gateway.db import open_engine

from tests.gateway.messagelog.log_support import T0, entry

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


@pytest.mark.parametrize("shared", [False, True], ids=["two open files", "one lock shared by threads"])
def test_a_second_holder_waits_until_the_first_releases(tmp_path: Path, shared: bool) -> None:
    # two open files, as two processes have; or one lock, as the message log's writers of
    # one process share it - flock does not exclude holders of the same open file, so the
    # lock must order its threads itself
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    first = CommitLock(engine)
    second = first if shared else CommitLock(engine)
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
    first.close()
    second.close()


def _unreachable_stamper(*args: object, **kwargs: object) -> object:
    raise OSError("no timestamping authority in this test")


def _op_record() -> dict[str, object]:
    return {"monitoringDataTs": 1780000000, "securityServerType": "Client", "succeeded": True,
            "clientXRoadInstance": "EE", "clientMemberClass": "GOV", "clientMemberCode": "70000001",
            "clientSubsystemCode": "tax"}


WRITERS = ["message log", "operational monitoring", "timestamping", "archive clean-up"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_commit_waits_for_another_process_holding_the_lock(tmp_path: Path, writer: str) -> None:
    # every writer of the file, not only the group commit: one that skipped the lock would
    # send the others into SQLite's busy sleeps while they hold it
    from gateway.messagelog import Archiver
    from gateway.messagelog import Timestamper
    from gateway.monitoring import OpMonitor

    engine = open_engine(tmp_path / "log.db")
    mlog, opmon = MessageLog(engine, clock=lambda: T0), OpMonitor(engine)
    writes = {
        "message log": lambda: mlog.append(entry("q-locked")),
        "operational monitoring": lambda: opmon.store_many([_op_record()]),
        # nothing to stamp (the stamper is never called): it records its success
        "timestamping": lambda: Timestamper(mlog, _unreachable_stamper, clock=lambda: T0).run_once(T0),
        "archive clean-up": lambda: Archiver(mlog, tmp_path / "archive", clock=lambda: T0).cleanup(T0),
    }
    write = writes[writer]
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
    elif writer == "operational monitoring":
        assert len(opmon.query(1779999999, 1780000001).records) == 1
    elif writer == "timestamping":
        assert mlog.status(T0)["last_timestamp_success"] == T0.isoformat()
