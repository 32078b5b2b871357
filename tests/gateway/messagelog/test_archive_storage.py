"""Bounded evidence storage: archiving on a schedule and by size, retention, crashes, tampering, memory.

The records here carry made-up signatures and timestamps (archiving does not verify
them), so a backlog of thousands is quick to build; ``test_archive.py`` checks real
evidence through archives. Archives are checked with ``sild gateway log verify-archives``
itself, the command an operator or auditor runs.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Sequence

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from gateway.db import open_engine
from gateway.db import schema as m
from gateway.messagelog import (
    Archiver, ArchivePolicy, MessageLog, MessageLogConfig, Timestamper, archive_files, verify_archive_chain,
)
from gateway.messagelog import _archive as archive_module
from gateway.messagelog._timestamper import BatchStamp

from tests.gateway.messagelog.log_support import T0, entry

HOUR = dt.timedelta(hours=1)


def fake_stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
    return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))


def open_log(path: Path) -> MessageLog:
    return MessageLog(open_engine(path), clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))


def fill(mlog: MessageLog, count: int, *, size: int = 400, at: dt.datetime = T0, stamp: bool = True,
         prefix: str = "q") -> None:
    start = mlog.count()
    for n in range(count):
        mlog.append(entry(f"{prefix}-{start + n}", size=size, logged_at=at))
    if stamp:
        Timestamper(mlog, fake_stamper).run_all(at)


def archived_ids(mlog: MessageLog) -> list[int]:
    with mlog.engine.connect() as conn:
        return sorted(conn.execute(select(m.LogRecordArchive.record_id)).scalars())


def verify_cli(*args: str) -> Result:
    from gateway.cli._main import _register, cli

    _register()
    return CliRunner().invoke(cli, ["gateway", "log", "verify-archives", *args, "--chain-only"])


@pytest.fixture
def mlog(tmp_path: Path) -> MessageLog:
    return open_log(tmp_path / "log.db")


def test_archiving_by_schedule_and_by_size(mlog: MessageLog, tmp_path: Path) -> None:
    archiver = Archiver(mlog, tmp_path / "a", interval=6 * HOUR, threshold_bytes=20_000)
    assert archiver.due(T0) == "schedule"  # never ran
    fill(mlog, 5)
    assert archiver.run_if_due(T0) == 5
    fill(mlog, 10, at=T0 + HOUR)  # ~5 KB: under the threshold, the schedule not due
    assert 0 < archiver.backlog_bytes() < 20_000
    assert archiver.due(T0 + HOUR) is None
    assert archiver.run_if_due(T0 + HOUR) == 0
    fill(mlog, 40, size=600, at=T0 + HOUR)  # now above 20 KB: archived early
    assert archiver.backlog_bytes() >= 20_000
    assert archiver.due(T0 + 2 * HOUR) == "size"
    assert archiver.run_if_due(T0 + 2 * HOUR) == 50
    assert archiver.backlog_bytes() == 0
    fill(mlog, 1, at=T0 + 3 * HOUR)
    assert archiver.due(T0 + 7 * HOUR) is None  # 6 hours after the last run (the size run) is not yet
    assert archiver.due(T0 + 8 * HOUR) == "schedule"
    assert verify_archive_chain(archive_files(tmp_path / "a")) == 55


def test_unstamped_records_count_for_neither_trigger_nor_archive(mlog: MessageLog, tmp_path: Path) -> None:
    archiver = Archiver(mlog, tmp_path / "a", threshold_bytes=1000)
    archiver.run_if_due(T0)
    fill(mlog, 20, stamp=False)
    assert archiver.backlog_bytes() == 0 and archiver.due(T0 + HOUR) is None
    assert archiver.archive_all(T0 + HOUR) == []


def test_settings_apply_to_a_running_archiver(mlog: MessageLog, tmp_path: Path) -> None:
    """The node's job reads the settings at every check: threshold, directory and keep-days change live."""
    from gateway.settings import NodeSettings

    settings = {"value": NodeSettings(server="EE/GOV/1/gw", instance="EE", archive_threshold_mib=0)}
    archiver = Archiver(mlog, tmp_path / "unused").follow(lambda: ArchivePolicy.of(settings["value"], tmp_path))
    fill(mlog, 3)
    assert archiver.run_if_due(T0) == 3
    assert len(archive_files(tmp_path / "archive")) == 1  # the default archive_dir, DIR/archive
    fill(mlog, 3000, size=400)
    assert archiver.run_if_due(T0 + HOUR) == 0  # threshold 0: by schedule only
    import dataclasses

    settings["value"] = dataclasses.replace(settings["value"], archive_threshold_mib=1, archive_dir="elsewhere")
    assert archiver.run_if_due(T0 + HOUR) == 3000
    moved = archive_files(tmp_path / "elsewhere")
    assert moved and archiver.threshold_bytes == 1024 * 1024
    # the chain goes on in the new directory: checked together with the old one
    result = verify_cli(str(tmp_path / "archive"), str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    assert "3003 container(s)" in result.output


def test_retention_deletes_only_archived_records(mlog: MessageLog, tmp_path: Path) -> None:
    old = T0 - dt.timedelta(days=90)
    fill(mlog, 4, at=old, prefix="archived")
    archiver = Archiver(mlog, tmp_path / "a", keep=dt.timedelta(days=30))
    assert archiver.archive_all(old) and len(archived_ids(mlog)) == 4
    fill(mlog, 3, at=old, prefix="stamped")  # archived below
    fill(mlog, 2, at=T0, prefix="young")  # archived below, but young
    Archiver(mlog, tmp_path / "a").archive_once(T0)
    fill(mlog, 1, at=old, prefix="late")  # timestamped after that run: not archived
    fill(mlog, 2, at=old, stamp=False, prefix="unstamped")  # never timestamped (the TSA is down)
    assert archiver.cleanup(T0) == 4 + 3  # the old archived ones only
    with mlog.engine.connect() as conn:
        left = sorted(conn.execute(select(m.LogRecord.query_id)).scalars())
    assert left == ["late-9", "unstamped-10", "unstamped-11", "young-7", "young-8"]
    assert archiver.cleanup(T0 + dt.timedelta(days=365)) == 2  # the young, once old; never the others
    with mlog.engine.connect() as conn:
        assert sorted(conn.execute(select(m.LogRecord.query_id)).scalars()) == ["late-9", "unstamped-10",
                                                                                 "unstamped-11"]


def test_crash_before_the_database_record_leaves_no_archive(mlog: MessageLog, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "a"
    fill(mlog, 3)
    Archiver(mlog, directory).archive_all(T0)
    fill(mlog, 4)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("power lost")

    with monkeypatch.context() as patch:
        patch.setattr(Archiver, "_record", crash)
        with pytest.raises(OSError):
            Archiver(mlog, directory).archive_once(T0)
    assert len(archive_files(directory)) == 1 and list(directory.glob(".mlog-*.part"))
    assert len(archived_ids(mlog)) == 3
    result = verify_cli(str(directory))
    assert result.exit_code == 0 and "1 archive(s), 3 container(s)" in result.output  # the part is no archive
    assert "partial archive of an interrupted run" in result.output
    infos = Archiver(mlog, directory).archive_all(T0)  # the next run: the part goes, the records are archived
    assert [i.record_count for i in infos] == [4]
    assert not list(directory.glob(".mlog-*.part"))
    assert archived_ids(mlog) == list(range(1, 8))
    assert verify_archive_chain(archive_files(directory)) == 7


def test_crash_after_the_database_record_is_finished_by_the_next_run(mlog: MessageLog, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "a"
    fill(mlog, 3)
    Archiver(mlog, directory).archive_all(T0)
    fill(mlog, 2)
    def crash(part: Path, final: Path) -> None:
        raise OSError("power lost")

    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "publish", crash)
        with pytest.raises(OSError):
            Archiver(mlog, directory).archive_once(T0)
    assert len(archived_ids(mlog)) == 5 and len(archive_files(directory)) == 1
    assert verify_cli(str(directory)).exit_code == 0  # what is named as an archive is complete
    assert Archiver(mlog, directory).archive_all(T0) == []  # renamed by the recovery; nothing new to archive
    assert len(archive_files(directory)) == 2 and not list(directory.glob(".mlog-*.part"))
    assert verify_archive_chain(archive_files(directory)) == 5
    fill(mlog, 1)
    Archiver(mlog, directory).archive_all(T0)
    assert verify_archive_chain(archive_files(directory)) == 6


def test_killed_archiving_process_recovers(tmp_path: Path) -> None:
    """A real process killed (SIGKILL) after writing the archive, before recording it."""
    path = tmp_path / "log.db"
    mlog = open_log(path)
    fill(mlog, 6)
    directory = tmp_path / "a"
    script = textwrap.dedent(f"""
        import sys, time
        from gateway.messagelog import Archiver
        from tests.gateway.messagelog.test_archive_storage import open_log
        from tests.gateway.messagelog.log_support import T0

        def stop(*args, **kwargs):
            print("written", flush=True)
            time.sleep(600)

        Archiver._record = stop
        Archiver(open_log(__import__("pathlib").Path({str(path)!r})), {str(directory)!r}).archive_once(T0)
    """)
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, cwd=root)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"written"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert list(directory.glob(".mlog-*.part")) and not archive_files(directory)
    refused = verify_cli(str(directory))  # no archive at all: nothing accepted
    assert refused.exit_code == 1 and "no archive files" in refused.output
    assert [i.record_count for i in Archiver(mlog, directory).archive_all(T0)] == [6]
    assert verify_archive_chain(archive_files(directory)) == 6 and not list(directory.glob(".mlog-*.part"))


@pytest.fixture
def chain(mlog: MessageLog, tmp_path: Path) -> list[Path]:
    fill(mlog, 8)
    Archiver(mlog, tmp_path / "a", max_records=2).archive_all(T0)
    paths = archive_files(tmp_path / "a")
    assert len(paths) == 4 and verify_cli(str(tmp_path / "a")).exit_code == 0
    return paths


def _rewrite(path: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as src:
        entries = {n: src.read(n) for n in src.namelist()}
    entries.update(change)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries.items():
            dst.writestr(name, data)


def test_an_edited_archive_is_named(chain: list[Path]) -> None:
    with zipfile.ZipFile(chain[1]) as z:
        name = next(n for n in z.namelist() if n.endswith(".asice"))
        data = z.read(name)
    _rewrite(chain[1], {name: data[:100] + bytes([data[100] ^ 1]) + data[101:]})
    result = verify_cli(str(chain[0].parent))
    assert result.exit_code == 1
    assert f"{chain[1].name}: {name}: does not match its digest" in result.output
    assert "gateway.archive" in result.output


def test_an_archive_rewritten_consistently_breaks_the_link_to_the_next(chain: list[Path]) -> None:
    """Editing an entry and its linkinginfo line still changes the archive's digest, which the next one holds."""
    import hashlib

    with zipfile.ZipFile(chain[1]) as z:
        info = z.read("linkinginfo").decode()
        name = next(n for n in z.namelist() if n.endswith(".asice"))
        data = z.read(name) + b" "
    info = info.replace(next(line for line in info.splitlines() if line.endswith(name)),
                        f"{hashlib.sha512(data).hexdigest()} {name}")
    _rewrite(chain[1], {name: data, "linkinginfo": info.encode()})
    result = verify_cli(str(chain[0].parent))
    assert result.exit_code == 1 and f"{chain[2].name} does not link to {chain[1].name}" in result.output


def test_a_removed_archive_is_named(chain: list[Path]) -> None:
    chain[1].unlink()
    result = verify_cli(str(chain[0].parent))
    assert result.exit_code == 1
    assert f"{chain[2].name} does not link to {chain[0].name} (archive missing, reordered or altered)" in result.output
    chain[0].unlink()  # the first one gone: the chain does not start at the beginning
    result = verify_cli(str(chain[2].parent))
    assert result.exit_code == 1 and f"{chain[2].name} does not link to -" in result.output


def test_reordered_archives_are_named(chain: list[Path]) -> None:
    """Two archives swapped (their names, which give the order)."""
    tmp = chain[1].with_suffix(".tmp")
    chain[1].rename(tmp)
    chain[2].rename(chain[1])
    tmp.rename(chain[2])
    result = verify_cli(str(chain[0].parent))
    assert result.exit_code == 1 and f"{chain[1].name} does not link to {chain[0].name}" in result.output


@pytest.mark.slow
def test_a_large_backlog_is_archived_in_bounded_memory(tmp_path: Path) -> None:
    """~60 MB of records waiting: archiving holds one container at a time, not an archive's worth."""
    import tracemalloc

    mlog = open_log(tmp_path / "log.db")
    blob = os.urandom(40_000)  # incompressible, so archives are as large as the records
    for chunk in range(15):
        mlog.append_all([entry(f"big-{chunk}-{n}", size=0, message=b"<env>" + blob + b"%d</env>" % n)
                         for n in range(100)])
    Timestamper(mlog, fake_stamper).run_all(T0)
    archiver = Archiver(mlog, tmp_path / "a")  # defaults: up to 1000 records, ~32 MiB per archive
    tracemalloc.start()
    try:
        infos = archiver.archive_all(T0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(i.record_count for i in infos) == 1500 and len(infos) >= 2
    assert sum(i.size for i in infos) > 55_000_000
    assert peak < 8 * 1024 * 1024, f"archiving 60 MB peaked at {peak} bytes of Python memory"
    with mlog.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.LogRecordArchive)).scalar() == 1500
    assert verify_archive_chain(archive_files(tmp_path / "a")) == 1500


def test_archive_settings_are_validated_and_keep_zero_deletes_once_archived(mlog: MessageLog, tmp_path: Path) -> None:
    from gateway.settings import NodeSettings, SetupError

    base = {"server": "EE/GOV/1/gw", "instance": "EE"}
    for name, value in (("archive_interval_seconds", 59), ("archive_threshold_mib", -1),
                        ("messagelog_keep_days", 3651), ("archive_interval_seconds", "6h")):
        with pytest.raises(SetupError, match=name):
            NodeSettings(**base, **{name: value})  # type: ignore[arg-type]
    settings = NodeSettings(**base, messagelog_keep_days=0, archive_dir="/srv/archive", archive_threshold_mib=1)
    policy = ArchivePolicy.of(settings, tmp_path)
    assert policy.directory == Path("/srv/archive") and policy.threshold_bytes == 1 << 20
    assert policy.keep == dt.timedelta(0)
    fill(mlog, 3)
    fill(mlog, 2, stamp=False, prefix="unstamped")
    archiver = Archiver(mlog, tmp_path / "a", keep=policy.keep)
    assert archiver.run(T0 + dt.timedelta(seconds=1)) == 3
    assert mlog.count() == 2  # the archived ones went at once; the unstamped stay


def test_a_record_stamped_late_below_archived_ones_is_still_archived(mlog: MessageLog, tmp_path: Path) -> None:
    """The archiver starts its search above what is all archived, never above a record stamped later.

    On PostgreSQL a record can commit (and be stamped) after records with higher ids: here
    record 3 of 4 gets its timestamp only after 1, 2 and 4 were archived.
    """
    from gateway.messagelog._records import STATE_FLOOR

    for n in range(4):
        mlog.append(entry(f"s-{n}"))

    def stamp(ids: list[int], floor: int) -> None:
        with mlog.commit_lock.begin() as conn:
            ts = conn.execute(m.LogTimestamp.__table__.insert(), {
                "stamped_at": T0, "token": b"t", "hash_chain_result": b"<r/>", "record_count": len(ids)}
            ).inserted_primary_key[0]
            conn.execute(m.LogRecordTimestamp.__table__.insert(),
                         [{"record_id": i, "timestamp_id": ts, "hash_chain": b"<c/>"} for i in ids])
            Timestamper._put_state(conn, {STATE_FLOOR: str(floor)})

    stamp([1, 2, 4], floor=2)
    archiver = Archiver(mlog, tmp_path / "a")
    assert [i.record_count for i in archiver.archive_all(T0)] == [3]
    assert archiver.archive_all(T0) == []
    stamp([3], floor=4)
    assert [i.record_count for i in archiver.archive_all(T0)] == [1]
    assert archived_ids(mlog) == [1, 2, 3, 4]
    assert verify_archive_chain(archive_files(tmp_path / "a")) == 4


def test_an_archive_never_replaces_a_file_of_the_same_name(mlog: MessageLog, tmp_path: Path) -> None:
    """Two nodes' chains in one directory would collide by name: the second archive is refused, not written over."""
    directory = tmp_path / "shared"
    fill(mlog, 2)
    (info,) = Archiver(mlog, directory).archive_all(T0)
    other = open_log(tmp_path / "other.db")  # another node: its own log, the same records' times and sequence
    fill(other, 2, prefix="other")  # other records, the same times and sequence number
    before = info.file.read_bytes()
    for _ in range(2):  # and again at the next run: the other node's archive is kept until its name is free
        with pytest.raises(Exception, match="exists already"):
            Archiver(other, directory).archive_once(T0)
        assert info.file.read_bytes() == before and len(list(directory.glob(".mlog-*.part"))) == 1
    moved = tmp_path / "other-archive"
    moved.mkdir()
    info.file.rename(moved / info.file.name)  # the operator moves the first node's chain away
    assert Archiver(other, directory).archive_all(T0) == []  # the recorded archive gets its name
    assert verify_archive_chain(archive_files(directory)) == 2 and not list(directory.glob(".mlog-*.part"))


def test_two_archiving_runs_at_once_take_turns(tmp_path: Path) -> None:
    """The node's job and `sild gateway log archive` on one log (two opens of the file, as two processes)."""
    import threading

    mlog = open_log(tmp_path / "log.db")
    fill(mlog, 400)
    start, errors = threading.Barrier(2), []

    def run() -> None:
        archiver = Archiver(open_log(tmp_path / "log.db"), tmp_path / "a", max_records=50)
        start.wait()
        try:
            archiver.archive_all(T0)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert archived_ids(mlog) == list(range(1, 401))
    assert verify_archive_chain(archive_files(tmp_path / "a")) == 400
