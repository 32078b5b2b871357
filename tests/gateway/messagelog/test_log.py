"""Message log: appends, atomic exchanges, crash safety, batch timestamping against a real TSA."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence, cast

import pytest
from sqlalchemy import Engine, Table, text

from gateway.db import schema as m

from gateway.messagelog import Attachment, MessageLog, MessageLogConfig, TimestampingOverdue
from gateway.messagelog._log import InvalidLogEntry
from gateway.messagelog._writer import CompiledInsert, GroupCommitWriter, MessageLogWriteFailed
from gateway.messagelog import Timestamper, evidence_stamper
from gateway.messagelog._timestamper import BatchStamp, TimestampingFailed
from gateway.db import open_engine

from tests.gateway.messagelog.log_support import T0, Tsa, entry
from tests.pgserver import temporary_database

PROJECT = Path(__file__).resolve().parents[3]


@pytest.fixture
def mlog(tmp_path: Path) -> MessageLog:
    return MessageLog(open_engine(tmp_path / "log.db"), clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsa]:
    server = Tsa(tmp_path_factory.mktemp("tsa"))
    yield server
    server.close()


# -- appends ----------------------------------------------------------------------------------


def test_append_stores_every_field(mlog: MessageLog) -> None:
    e = entry("q-7", kind="REST", body=b'{"a": 1}', attachments=[Attachment("application/pdf", b"%PDF-1")])
    rid = mlog.append(e)
    rec = mlog.get(rid)
    assert rec.message == e.message and rec.signature == e.signature and rec.body == b'{"a": 1}'
    assert rec.signature_hash == hashlib.sha512(e.signature).digest()
    assert rec.client == "SUBSYSTEM:EE/COM/20000002/app"
    assert rec.service == "SERVICE:EE/GOV/70000001/tax/getPerson/v1"
    assert (rec.query_id, rec.x_request_id, rec.side, rec.direction, rec.kind) == ("q-7", "rid-q-7", "client", "request", "REST")
    assert rec.attachments == (Attachment("application/pdf", b"%PDF-1"),)
    assert rec.logged_at == T0 and rec.timestamp_token is None


def test_body_logging_off_keeps_no_body(tmp_path: Path) -> None:
    log = MessageLog(open_engine(tmp_path / "l.db"), clock=lambda: T0, config=MessageLogConfig(body_logging=False))
    rec = log.get(log.append(entry(kind="REST", body=b"secret", attachments=[Attachment("a/b", b"zz")])))
    assert rec.body is None and rec.attachments == ()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"side": "middle"}, "side"),
        ({"direction": "sideways"}, "direction"),
        ({"kind": "GRPC"}, "kind"),
        ({"query_id": ""}, "query id"),
        ({"signature": b""}, "signature"),
        ({"hash_chain": b"<x/>"}, "hash chain"),
        ({"logged_at": dt.datetime(2026, 1, 1)}, "naive"),
    ],
    ids=["side", "direction", "kind", "query-id", "signature", "chain-alone", "naive-time"],
)
def test_bad_entries_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidLogEntry, match=message):
        entry(**change)


def test_exchange_is_all_or_nothing(mlog: MessageLog) -> None:
    with pytest.raises(RuntimeError):
        with mlog.exchange() as tx:
            tx.append(entry("q-a"))
            tx.append(entry("q-a", "response"))
            raise RuntimeError("the proxy failed before answering")
    assert mlog.count() == 0
    with mlog.exchange() as tx:
        tx.append(entry("q-b"))
        tx.append(entry("q-b", "response"))
    assert [r.direction for r in mlog.find("q-b")] == ["request", "response"]
    assert [r.direction for r in mlog.find("q-b", direction="response")] == ["response"]


def test_append_joins_the_callers_transaction(mlog: MessageLog) -> None:
    with mlog.engine.connect() as conn:
        conn.begin()
        mlog.append(entry("q-c"), connection=conn)
        conn.rollback()
    assert mlog.find("q-c") == []


_WRITER = r"""
import hashlib, sys
from gateway.messagelog._log import LogEntry, MessageLog
from gateway.db import open_engine
from trust.protocol._identifiers import SubsystemId
log = MessageLog(open_engine(sys.argv[1]))
client = SubsystemId("EE", "COM", "2", "app"); service = SubsystemId("EE", "GOV", "1", "tax").service("s")

def entry(n, direction):
    msg = (b"%d:" % n) * 20000  # large records: the kill lands mid-write
    return LogEntry(query_id="q%d" % n, client=client, service=service, side="server", direction=direction,
                    kind="SOAP", message=msg, signature=hashlib.sha512(msg).hexdigest().encode())

n = 0
while True:
    if n % 2:  # odd exchanges: request and response in one transaction
        with log.exchange() as tx:
            tx.append(entry(n, "request"))
            tx.append(entry(n, "response"))
    else:
        log.append(entry(n, "request"))
    n += 1
    if n == 4:
        print("ready", flush=True)
"""


def test_killed_writer_leaves_no_half_record(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    open_engine(db).dispose()
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE, env=env, cwd=PROJECT)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = MessageLog(open_engine(db))
    with log.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        rows = conn.execute(text("SELECT query_id, direction, message, signature, signature_hash FROM ml_record")).all()
    assert len(rows) >= 4
    seen: dict[int, list[str]] = {}
    for query_id, direction, message, signature, signature_hash in rows:
        n = int(query_id[1:])
        assert message == (b"%d:" % n) * 20000
        assert signature == hashlib.sha512(message).hexdigest().encode()
        assert signature_hash == hashlib.sha512(signature).digest()
        seen.setdefault(n, []).append(direction)
    assert sorted(seen) == list(range(len(seen)))  # no gap: nothing committed was lost
    for n, directions in seen.items():  # an exchange is whole: both records or neither
        assert sorted(directions) == (["request", "response"] if n % 2 else ["request"])


# -- timestamping ----------------------------------------------------------------------------------


def test_batch_timestamping_with_a_real_tsa(mlog: MessageLog, tsa: Tsa) -> None:
    from trust.evidence import verify_timestamp_token

    ids = [mlog.append(entry(f"q-{n}")) for n in range(5)]
    stamper = Timestamper(mlog, evidence_stamper(tsa.client()), batch_size=3)
    assert stamper.run_all(T0) == 5
    assert stamper.run_once(T0) == 0
    recs = [mlog.get(i) for i in ids]
    assert all(r.timestamp_token for r in recs)
    assert len({r.timestamp_token for r in recs}) == 2  # two batches of at most three
    first = recs[0]
    assert first.ts_hash_chain_result is not None and first.ts_hash_chain is not None
    # the token covers the hash-chain result bytes exactly
    verified = verify_timestamp_token(
        first.timestamp_token, message_imprint_digest=hashlib.sha512(first.ts_hash_chain_result).digest(),
        tsa_certs=[tsa.ca.tsa_cert], at=T0,
    )
    assert verified.gen_time == T0
    status = mlog.status(T0)
    assert status["last_timestamp_success"] == T0.isoformat() and status["timestamping_overdue"] is False


def test_failing_tsa_makes_the_log_refuse_after_the_period(mlog: MessageLog, tsa: Tsa) -> None:
    mlog.append(entry("q-1"))
    mlog.append(entry("q-2"))
    stamper = Timestamper(mlog, evidence_stamper(tsa.client()))
    tsa.fail = True
    try:
        with pytest.raises(Exception) as info:
            stamper.run_once(T0)
        assert getattr(info.value, "code", "").startswith("trust.tsa")
        later = T0 + dt.timedelta(hours=3, minutes=59)
        assert not mlog.timestamping_overdue(later)
        mlog.check_accepting(later)
        too_late = T0 + dt.timedelta(hours=4, seconds=1)
        assert mlog.timestamping_overdue(too_late)
        with pytest.raises(TimestampingOverdue):
            mlog.check_accepting(too_late)
        assert "TimestampUnavailable" in str(mlog.status(too_late)["last_timestamp_error"])
    finally:
        tsa.fail = False
    assert stamper.run_once(T0 + dt.timedelta(hours=5)) == 2
    assert not mlog.timestamping_overdue(T0 + dt.timedelta(hours=5))


def test_unstamped_records_alone_make_the_log_overdue(mlog: MessageLog) -> None:
    """Even if the job never ran (scheduler dead), old unstamped records stop traffic."""
    mlog.append(entry("q-old"))
    assert not mlog.timestamping_overdue(T0 + dt.timedelta(hours=1))
    assert mlog.timestamping_overdue(T0 + dt.timedelta(hours=4, minutes=1))


def test_timestamping_never_blocks_appends(tmp_path: Path) -> None:
    """While the TSA call is in flight the hot path appends freely (DESIGN 5 trap)."""
    engine = open_engine(tmp_path / "l.db", connect_args={"timeout": 0.2})
    log = MessageLog(engine, clock=lambda: T0)
    log.append(entry("q-0"))
    appended: list[float] = []

    def slow_stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        started = time.perf_counter()
        log.append(entry("q-during"))  # same process, other connection, tiny busy timeout
        appended.append(time.perf_counter() - started)
        return BatchStamp(b"token", None, [None] * len(signatures))

    assert Timestamper(log, slow_stamper).run_once(T0) == 1
    assert len(appended) == 1
    assert {r.query_id for r in log.find("q-during")} == {"q-during"}
    assert log.get(2).timestamp_token is None  # appended during the run: stamped next time


def test_stamper_errors_are_recorded(mlog: MessageLog) -> None:
    mlog.append(entry("q-1"))

    def broken(hashes: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        raise OSError("disk on fire")

    with pytest.raises(TimestampingFailed, match="disk on fire"):
        Timestamper(mlog, broken).run_once(T0)
    assert mlog.status(T0)["timestamping_failing_since"] == T0.isoformat()


def test_schedule_adds_an_apscheduler_job(mlog: MessageLog) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
    job = Timestamper(mlog, lambda h, at: BatchStamp(b"t", None, [None] * len(h))).schedule(scheduler, interval_seconds=30)
    assert job.id == "messagelog-timestamping" and job.max_instances == 1
    assert job.next_run_time == T0  # pending jobs keep the first run time given (run at start)


# -- group commit, on SQLite and on PostgreSQL ---------------------------------------------------------

PG_URL = os.environ.get("SILD_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh gateway database: an SQLite file, or a new database on the run's PostgreSQL server."""
    if request.param == "sqlite":
        eng = open_engine(tmp_path / "gc.db")
        yield eng
        eng.dispose()
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(PG_URL, "ml") as url:
        eng = open_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


def _raw_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM ml_record ORDER BY id"))]


def test_group_commit_stores_rows_exactly_as_sqlalchemy_does(engine: Engine) -> None:
    """The writer's statements compiled once store the same bytes as an ORM-level insert."""
    log = MessageLog(engine, clock=lambda: T0)
    e = entry("q-7", kind="REST", body=b'{"a": 1}', hash_chain=b"<c/>", hash_chain_result=b"<r/>",
              attachments=[Attachment("application/pdf", b"%PDF-1"), Attachment("text/plain", b"hi")],
              logged_at=T0 + dt.timedelta(microseconds=123456))
    fast = log.append(e)
    with log.exchange() as tx:  # SQLAlchemy's own insert, on the caller's connection
        slow = tx.append(e)
    assert log._writer is not None and log._writer.records == 1
    rows = _raw_rows(engine)
    assert [r[0] for r in rows] == [fast, slow] and rows[0][1:] == rows[1][1:]
    first, second = log.get(fast), log.get(slow)
    assert first == dataclasses.replace(second, id=fast)
    assert first.attachments == (Attachment("application/pdf", b"%PDF-1"), Attachment("text/plain", b"hi"))
    assert first.logged_at == T0 + dt.timedelta(microseconds=123456)
    assert first.signature_hash == hashlib.sha512(e.signature).digest()
    log.close()


def test_concurrent_appends_share_transactions(engine: Engine) -> None:
    """16 threads x 25 appends: every record committed once, fewer transactions than records."""
    from concurrent.futures import ThreadPoolExecutor

    mlog = MessageLog(engine, clock=lambda: T0)
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda n: mlog.append(entry(f"q-{n}")), range(400)))
    assert len(set(ids)) == 400 and mlog.count() == 400
    writer = mlog._writer
    assert writer is not None and writer.records == 400 and writer.batches < 400
    assert [r.query_id for r in mlog.find("q-399")] == ["q-399"]
    assert {mlog.get(i).query_id for i in ids} == {f"q-{n}" for n in range(400)}  # each caller got its own id
    mlog.close()


def test_a_lone_append_commits_in_the_callers_thread(tmp_path: Path) -> None:
    """No writer thread: with nobody else appending, the caller writes its own transaction."""
    mlog = MessageLog(open_engine(tmp_path / "l.db"), clock=lambda: T0)
    before = threading.active_count()
    ids = [mlog.append(entry(f"q-{n}")) for n in range(5)]
    assert threading.active_count() == before
    assert ids == sorted(ids) and mlog.count() == 5
    assert mlog._writer is not None and (mlog._writer.batches, mlog._writer.records) == (5, 5)
    mlog.close()


def _state_writer(engine: Engine, gate: threading.Event, **kw: Any) -> GroupCommitWriter[str]:
    """A writer of ``ml_state`` rows whose inserts wait for ``gate``; ``bad`` fails after inserting."""
    stmt = CompiledInsert(engine.dialect, cast(Table, m.LogState.__table__), ("key", "value"))

    def insert(cursor: Any, item: str) -> int:
        gate.wait(5)
        stmt.execute(cursor, (item, "v"))
        if item == "bad":  # fails after writing: its row must not survive, its neighbours' must
            raise ValueError("unwritable record")
        return len(item)

    return GroupCommitWriter(engine, insert, **kw)


def _state_keys(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {k for (k,) in conn.execute(text("SELECT key FROM ml_state"))}


def _submit_all(writer: GroupCommitWriter[str], items: Sequence[str], gate: threading.Event) -> dict[str, object]:
    results: dict[str, object] = {}

    def submit(item: str) -> None:
        try:
            results[item] = writer.submit(item)
        except MessageLogWriteFailed as exc:
            results[item] = exc

    threads = [threading.Thread(target=submit, args=(k,)) for k in items]
    threads[0].start()
    time.sleep(0.1)  # the first is the leader, held at the gate
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)  # the others queued behind it: they form the next batch
    gate.set()
    for t in threads:
        t.join(10)
    return results


def test_a_failing_record_does_not_fail_its_batch(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    writer = _state_writer(engine, gate)
    results = _submit_all(writer, ["a", "bad", "b", "cc"], gate)
    writer.close()
    assert isinstance(results["bad"], MessageLogWriteFailed) and "unwritable record" in str(results["bad"])
    assert {k: v for k, v in results.items() if k != "bad"} == {"a": 1, "b": 1, "cc": 2}
    assert _state_keys(engine) == {"a", "b", "cc"}
    assert "batch of 3 failed" in caplog.text  # [a], then [bad, b, cc] together, split after failing
    assert writer.batches == 3 and writer.records == 3  # committed: [a], [b], [cc]


def test_a_caller_gives_up_after_the_wait_and_its_record_is_not_written(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "w.db")
    gate = threading.Event()
    writer = _state_writer(engine, gate, wait_seconds=0.3)
    leader = threading.Thread(target=writer.submit, args=("first",))
    leader.start()
    time.sleep(0.1)
    with pytest.raises(MessageLogWriteFailed, match="did not commit within"):
        writer.submit("late")
    gate.set()
    leader.join(10)
    assert writer.submit("next") == 4
    writer.close()
    assert _state_keys(engine) == {"first", "next"}


class _Interrupted(BaseException):
    pass


def test_an_interrupted_caller_passes_the_lead_on(tmp_path: Path) -> None:
    """A caller made leader just as it is interrupted must not leave the others waiting forever."""
    engine = open_engine(tmp_path / "w.db")
    gate = threading.Event()
    writer = _state_writer(engine, gate, wait_seconds=10)
    real_lock = threading.Lock

    class InterruptedOnWake:
        """The signal of the caller ``x``: raises once it is woken (when it is given the lead)."""

        def __init__(self) -> None:
            self.lock = real_lock()

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            got = self.lock.acquire(blocking, timeout)
            if threading.current_thread().name == "x" and got and timeout >= 0:  # woken while waiting
                raise _Interrupted()
            return got

        def release(self) -> None:
            self.lock.release()

    writer._new_signal = InterruptedOnWake
    outcome: dict[str, object] = {}

    def submit(item: str) -> None:
        try:
            outcome[item] = writer.submit(item)
        except _Interrupted:
            outcome[item] = "interrupted"

    first = threading.Thread(target=submit, args=("first",), name="first")
    first.start()
    time.sleep(0.1)  # "first" leads, held at the gate
    x = threading.Thread(target=submit, args=("x",), name="x")
    x.start()
    time.sleep(0.1)
    y = threading.Thread(target=submit, args=("yy",), name="y")
    y.start()
    time.sleep(0.1)
    writer.max_batch = 1  # "first" hands the lead to "x", which is interrupted on waking
    gate.set()
    for t in (first, x, y):
        t.join(10)
    assert outcome == {"first": 5, "x": "interrupted", "yy": 2}
    assert writer.submit("zzz") == 3
    writer.close()
    assert _state_keys(engine) == {"first", "yy", "zzz"}


def test_close_commits_what_is_queued_and_refuses_more(engine: Engine) -> None:
    gate = threading.Event()
    writer = _state_writer(engine, gate)
    def close_soon() -> None:
        time.sleep(0.15)  # while the first record is held at the gate and the others queue
        writer.close()

    closer = threading.Thread(target=close_soon)
    closer.start()
    results = _submit_all(writer, ["a", "b", "c"], gate)
    closer.join(10)
    assert results == {"a": 1, "b": 1, "c": 1}
    with pytest.raises(MessageLogWriteFailed, match="closed"):
        writer.submit("d")
    assert _state_keys(engine) == {"a", "b", "c"}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_writer_survives_losing_its_connection(engine: Engine) -> None:
    """PostgreSQL restarted or failed over: the next append takes a fresh connection."""
    mlog = MessageLog(engine, clock=lambda: T0)
    mlog.append(entry("q-1"))
    with engine.begin() as conn:  # end every other session on this database: the writer's
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar()
    assert killed and killed >= 1
    assert mlog.get(mlog.append(entry("q-2"))).query_id == "q-2"
    assert [r.query_id for r in mlog.find("q-1") + mlog.find("q-2")] == ["q-1", "q-2"]
    mlog.close()


def test_a_due_state_is_read_once_not_once_per_waiting_thread(tmp_path: Path) -> None:
    """check_accepting runs per message: when the cached state is due, one thread reads it."""
    from sqlalchemy import event

    engine = open_engine(tmp_path / "s.db")
    mlog = MessageLog(engine, clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=1.0))
    mlog.append(entry("q-1"))
    reads: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: reads.append(statement) if "min(" in statement else None)
    mlog.check_accepting(T0)
    for _ in range(100):
        mlog.check_accepting(T0)
    assert len(reads) == 1  # cached
    time.sleep(1.05)
    barrier = threading.Barrier(8)

    def check() -> None:
        barrier.wait(5)
        mlog.check_accepting(T0)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(reads) == 2
    with pytest.raises(TimestampingOverdue):  # the state read says q-1 is unstamped since T0
        mlog.check_accepting(T0 + dt.timedelta(hours=5))
    mlog.close()


def test_append_all_commits_an_exchange_together_or_not_at_all(engine: Engine) -> None:
    """Request and answer in one transaction: both stored, consecutive; a failing second leaves neither."""
    from concurrent.futures import ThreadPoolExecutor

    mlog = MessageLog(engine, clock=lambda: T0)
    first = mlog.append_all([entry("q-1"), entry("q-1", "response", attachments=[Attachment("text/plain", b"a")])])
    assert [(r.id, r.direction) for r in mlog.find("q-1")] == [(first, "request"), (first + 1, "response")]
    assert mlog.get(first + 1).attachments == (Attachment("text/plain", b"a"),)
    with ThreadPoolExecutor(8) as pool:  # pairs stay whole under group commit
        list(pool.map(lambda n: mlog.append_all([entry(f"p-{n}"), entry(f"p-{n}", "response")]), range(40)))
    for n in range(40):
        pair = mlog.find(f"p-{n}")
        assert [r.direction for r in pair] == ["request", "response"] and pair[1].id == pair[0].id + 1
    with pytest.raises(InvalidLogEntry):
        mlog.append_all([])
    before = mlog.count()
    broken = dataclasses.replace(entry("q-2", "response"), query_id="q-2")
    object.__setattr__(broken, "message", "not bytes")  # refused by the database driver, after the request row
    with pytest.raises(Exception):
        mlog.append_all([entry("q-2"), broken])
    assert mlog.count() == before and mlog.find("q-2") == []
    mlog.close()


def test_the_floor_follows_the_stamped_records_without_skipping_any(mlog: MessageLog, tsa: Tsa) -> None:
    """The floor (below which everything is stamped) is worked out from the run's own read: with
    a full batch it stops before the first record left out; records appended later are above it."""
    from gateway.messagelog._log import STATE_FLOOR
    from gateway.db.schema import LogState
    from sqlalchemy import select

    def floor() -> int:
        with mlog.engine.connect() as conn:
            return int(conn.execute(select(LogState.value).where(LogState.key == STATE_FLOOR)).scalar() or 0)

    ids = [mlog.append(entry(f"f-{n}")) for n in range(5)]
    stamper = Timestamper(mlog, evidence_stamper(tsa.client()), batch_size=3)
    assert stamper.run_once(T0) == 3 and floor() == ids[2]  # a full batch: up to its last record
    late = mlog.append(entry("f-late"))
    assert stamper.run_once(T0) == 3 and floor() == late  # the rest and the late one
    assert all(mlog.get(i).timestamp_token for i in [*ids, late])
    assert stamper.run_once(T0) == 0 and floor() == late


def test_a_record_committed_during_the_candidates_read_is_not_skipped(mlog: MessageLog, tmp_path: Path) -> None:
    """Another process commits a record between the timestamper's statements (SQLite reads each in
    its own snapshot): the floor must not pass it, or it is never stamped (nor archived). Seen in a
    sandbox whose gateway ran two workers: six records left unstamped below the floor."""
    from sqlalchemy import event

    other = MessageLog(open_engine(tmp_path / "log.db"), clock=lambda: T0)
    ids = [mlog.append(entry(f"r-{n}")) for n in range(3)]
    late: list[int] = []

    def commit_beside(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not late and "ml_record_ts" in statement and "LIMIT" in statement.upper():
            late.append(other.append(entry("r-late")))  # right after the unstamped rows were read

    def stamper_of(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))

    event.listen(mlog.engine, "after_cursor_execute", commit_beside)
    stamper = Timestamper(mlog, stamper_of)
    assert stamper.run_once(T0) == 3 and late
    event.remove(mlog.engine, "after_cursor_execute", commit_beside)
    assert stamper.run_all(T0) == 1  # the late one, in the next run
    assert all(mlog.get(i).timestamp_token for i in [*ids, *late])
    other.close()


def test_a_batch_is_written_in_short_transactions_and_the_floor_moves_with_the_last(
        mlog: MessageLog, tsa: Tsa, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links go in ``link_chunk`` at a time, each transaction under the commit lock; a run that
    stops between two of them leaves the rest unlinked and above the floor, and the next run
    stamps exactly those."""
    from contextlib import contextmanager

    from gateway.messagelog._log import STATE_FLOOR
    from gateway.db.schema import LogRecordTimestamp, LogState
    from sqlalchemy import func, select

    def floor() -> int:
        with mlog.engine.connect() as conn:
            return int(conn.execute(select(LogState.value).where(LogState.key == STATE_FLOOR)).scalar() or 0)

    def links_per_record() -> list[int]:
        with mlog.engine.connect() as conn:
            return [int(n) for (n,) in conn.execute(
                select(func.count()).select_from(LogRecordTimestamp).group_by(LogRecordTimestamp.record_id))]

    ids = [mlog.append(entry(f"c-{n}")) for n in range(7)]
    begin, calls = mlog.commit_lock.begin, []

    @contextmanager
    def failing_third():  # the process "stops" in the third transaction of the run
        calls.append(1)
        if len(calls) == 3:
            raise OSError("power cut")
        with begin() as conn:
            yield conn

    monkeypatch.setattr(mlog.commit_lock, "begin", failing_third)
    stamper = Timestamper(mlog, evidence_stamper(tsa.client()), link_chunk=2)
    with pytest.raises(OSError, match="power cut"):
        stamper.run_once(T0)
    assert len(links_per_record()) == 4 and floor() == 0  # two chunks in, the floor unmoved
    monkeypatch.setattr(mlog.commit_lock, "begin", begin)
    calls.clear()
    assert stamper.run_once(T0) == 3  # only the three left without a link
    assert links_per_record() == [1] * 7 and floor() == ids[-1]
    assert all(mlog.get(i).timestamp_token for i in ids)
    assert mlog.status(T0)["oldest_unstamped_record"] is None
