"""Message log: appends, atomic exchanges, crash safety, batch timestamping against a real TSA."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Sequence

import pytest
from sqlalchemy import text

from gateway.messagelog import (
    Attachment,
    InvalidLogEntry,
    LogEntry,
    MessageLog,
    MessageLogConfig,
    TimestampingOverdue,
)
from gateway.messagelog_timestamper import BatchStamp, Timestamper, TimestampingFailed, evidence_stamper
from gateway.serverconf_db import open_engine
from trust.identifiers import SubsystemId

PROJECT = Path(__file__).resolve().parents[2]
CLIENT = SubsystemId("EE", "COM", "20000002", "app")
SERVICE = SubsystemId("EE", "GOV", "70000001", "tax").service("getPerson", "v1")
T0 = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def entry(query_id: str = "q-1", direction: str = "request", *, size: int = 400, **kw: object) -> LogEntry:
    message = (b"<env>" + query_id.encode() + b"x" * size + b"</env>")
    signature = b"<sig>" + hashlib.sha256(message).hexdigest().encode() + b"</sig>"
    values: dict[str, object] = dict(
        query_id=query_id, client=CLIENT, service=SERVICE, side="client", direction=direction, kind="SOAP",
        message=message, signature=signature, x_request_id="rid-" + query_id, logged_at=T0,
    )
    values.update(kw)
    return LogEntry(**values)  # type: ignore[arg-type]


@pytest.fixture
def mlog(tmp_path: Path) -> MessageLog:
    return MessageLog(open_engine(tmp_path / "log.db"), clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))


# -- a real RFC 3161 TSA over HTTP -------------------------------------------------------


class _Tsa:
    """An RFC 3161 TSA (trust's responder core) behind a tiny HTTP server on 127.0.0.1."""

    def __init__(self, directory: Path, ca: object | None = None) -> None:
        from trust.ca import CertificateAuthority
        from trust.ca_services import timestamp_authority
        from trust.keys import KeyType

        self.ca = ca or CertificateAuthority.init(
            directory / "ca", instance="EE", pin="1234", now=T0 - dt.timedelta(days=1), key_type=KeyType.EC_P256
        )
        self.authority = timestamp_authority(self.ca)  # type: ignore[arg-type]
        self.fail = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests += 1
                if outer.fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = outer.authority.respond(body, T0)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self):  # type: ignore[no-untyped-def]
        from trust.tsa import TimestampClient

        return TimestampClient(self.url, [self.ca.tsa_cert], timeout=5.0)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Tsa]:
    server = _Tsa(tmp_path_factory.mktemp("tsa"))
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
from gateway.messagelog import LogEntry, MessageLog
from gateway.serverconf_db import open_engine
from trust.identifiers import SubsystemId
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


def test_batch_timestamping_with_a_real_tsa(mlog: MessageLog, tsa: _Tsa) -> None:
    from trust.tsa import verify_timestamp_token

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


def test_failing_tsa_makes_the_log_refuse_after_the_period(mlog: MessageLog, tsa: _Tsa) -> None:
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


# -- group commit ------------------------------------------------------------------------------------


def test_concurrent_appends_share_transactions(mlog: MessageLog) -> None:
    """16 threads x 25 appends: every record committed, fewer transactions than records."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda n: mlog.append(entry(f"q-{n}")), range(400)))
    assert len(set(ids)) == 400 and mlog.count() == 400
    writer = mlog._writer
    assert writer is not None and writer.records == 400 and writer.batches < 400
    assert {r.query_id for r in mlog.find("q-399")} == {"q-399"}
    mlog.close()


def test_a_failing_record_does_not_fail_its_batch(tmp_path: Path) -> None:
    from sqlalchemy import Connection, insert as sa_insert

    from gateway import serverconf_models as m
    from gateway.messagelog_writer import GroupCommitWriter, MessageLogWriteFailed

    engine = open_engine(tmp_path / "w.db")
    gate = threading.Event()

    def insert(conn: Connection, item: str) -> int:
        gate.wait(5)  # hold the first batch until the others queued up
        if item == "bad":
            raise ValueError("unwritable record")
        conn.execute(sa_insert(m.LogState), {"key": item, "value": "v"})
        return len(item)

    writer: GroupCommitWriter[str] = GroupCommitWriter(engine, insert)
    results: dict[str, object] = {}

    def submit(item: str) -> None:
        try:
            results[item] = writer.submit(item)
        except MessageLogWriteFailed as exc:
            results[item] = exc

    threads = [threading.Thread(target=submit, args=(k,)) for k in ("a", "bad", "b", "c")]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    writer.close()
    assert isinstance(results["bad"], MessageLogWriteFailed)
    with engine.connect() as conn:
        keys = {k for (k,) in conn.execute(text("SELECT key FROM ml_state"))}
    assert keys == {"a", "b", "c"}
