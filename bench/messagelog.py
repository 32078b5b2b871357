"""Message-log append throughput (the hot path) and the cost of an access decision.

    .venv/bin/python bench/messagelog.py [--seconds 3] [--threads 4]

Prints appends per second for SQLite WAL with synchronous=FULL (sild's default) and
NORMAL, from one thread and from several, with a realistic record (2 KiB SOAP message,
4 KiB XAdES signature), and the CPU time per append: ``time.process_time`` over the
whole process (callers *and* the group-commit writer thread) divided by the appends -
the figure that matters on a 2-core machine where the load generator, both gateways
and the backend share the CPUs. Then the same while the batch timestamper stamps the
table (stamper = a local stand-in that returns at once, so only the database part is
measured); the CPU per exchange of operational monitoring (``MonitoringFeed.finish``
in the proxy plus the background flush); and the per-message cost of
``AccessChecker.decide`` on a cached snapshot and of ``MessageLog.check_accepting``.

``--postgres URL`` adds the append figures on PostgreSQL. ``--baseline REV`` (a git
revision, e.g. the commit before an optimisation) measures the append figures of that
revision's code and of this tree side by side, each run in a fresh process and the two
alternating ``--repeat`` times (medians printed), so that a busy machine skews both alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

PROJECT = Path(__file__).resolve().parents[1]
# --code-root DIR: measure the sild code in DIR (a baseline revision) instead of this tree's
CODE_ROOT = sys.argv[sys.argv.index("--code-root") + 1] if "--code-root" in sys.argv else str(PROJECT)
sys.path.insert(0, CODE_ROOT)

from gateway.serverconf import AccessChecker
from gateway.messagelog import LogEntry, MessageLog
from gateway.messagelog import Timestamper
from gateway.messagelog._timestamper import BatchStamp
from gateway.serverconf import Operation, ServerConf
from gateway.db import open_engine
from trust.protocol import SubsystemId

from load_threads import start_and_join

CLIENT = SubsystemId("EE", "COM", "20000002", "app")
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = PROVIDER.service("getPerson", "v1")
MESSAGE = b"<soap>" + os.urandom(1000).hex().encode() + b"</soap>"
SIGNATURE = b"<asic:XAdESSignatures>" + os.urandom(2000).hex().encode() + b"</asic:XAdESSignatures>"


def entry(n: int) -> LogEntry:
    return LogEntry(query_id=f"q-{n}", client=CLIENT, service=SERVICE, side="client", direction="request",
                    kind="SOAP", message=MESSAGE, signature=SIGNATURE, x_request_id=f"r-{n}")


def run_appends(log: MessageLog, seconds: float, threads: int) -> tuple[float, float]:
    """Appends per second and CPU microseconds per append (whole process, all threads)."""
    entries = [entry(n) for n in range(2000)]  # built ahead: the proxy builds its entry anyway
    log.append(entries[0])  # warm up: writer thread, connection, compiled statement
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            log.append(entries[(i * 251 + n) % len(entries)])
            n += 1
        counts[i] = n

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    cpu = time.process_time()
    start_and_join(pool)
    cpu = time.process_time() - cpu
    total = sum(counts)
    return total / (time.perf_counter() - started), cpu / max(total, 1) * 1e6


def monitoring_cost(engine: object, n: int = 20_000) -> tuple[float, float]:
    """CPU us per exchange of op monitoring: the proxy's note + finish, and the writer's flush."""
    from gateway.monitoring import MonitoringFeed, OpNote
    from gateway.monitoring import OpMonitor

    feed = MonitoringFeed(OpMonitor(engine), flush_seconds=3600.0)  # type: ignore[arg-type]
    try:
        started = time.process_time()
        for i in range(n):
            note = OpNote.start("server")
            note.identify(CLIENT, SERVICE, "WSDL", x_request_id=f"r-{i}", request_size=2100, message_id=f"q-{i}",
                          protocol_version="4.x")
            note.response_size = 2300
            feed.finish(note, status=200)
        finish = time.process_time() - started
        started = time.process_time()
        stored = feed.flush()
        flush = time.process_time() - started
        assert stored == n, stored
    finally:
        feed.close()
    return finish / n * 1e6, flush / n * 1e6


def quick_stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
    return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))


def raw_commit_rate(path: Path, sync: str, n: int = 300) -> tuple[float, float]:
    """Bare sqlite3 (no sild, no SQLAlchemy): one 6 KiB row per commit - the disk's own limit.

    Commits per second and CPU microseconds per commit.
    """
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
    conn.commit()
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(n):
        conn.execute("INSERT INTO t (b) VALUES (?)", (MESSAGE + SIGNATURE,))
        conn.commit()
    cpu = time.process_time() - cpu
    rate = n / (time.perf_counter() - started)
    conn.close()
    return rate, cpu / n * 1e6


def raw_record_rate(path: Path, sync: str, n: int = 1000) -> tuple[float, float]:
    """Bare sqlite3 inserting the same record into sild's ``ml_record`` (its indexes, its
    AUTOINCREMENT), one transaction per record: the floor under an unbatched append."""
    import sqlite3

    open_engine(path, synchronous=sync).dispose()  # the schema
    log = MessageLog(open_engine(path, synchronous=sync))
    values = [log._record_stmt.params(log._values(entry(i))) for i in range(n)]
    sql = log._record_stmt.sql
    log.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA synchronous={sync}")
    started = time.perf_counter()
    cpu = time.process_time()
    for row in values:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, row)
        conn.execute("COMMIT")
    cpu = time.process_time() - cpu
    rate = n / (time.perf_counter() - started)
    conn.close()
    return rate, cpu / n * 1e6


def one_figure(spec: str, seconds: float, postgres: str | None) -> None:
    """``--one FULL:8``: print "appends/s CPU-us/append" for one configuration (a child process)."""
    sync, threads = spec.split(":")[0], int(spec.split(":")[1])
    with tempfile.TemporaryDirectory(dir=str(PROJECT / "bench")) as tmp:
        if sync == "PG":
            engine = open_engine(postgres or "", pool_size=int(threads) + 2)
        else:
            engine = open_engine(Path(tmp) / "one.db", synchronous=sync, pool_size=int(threads) + 2)
        log = MessageLog(engine)
        rate, cpu_us = run_appends(log, seconds, threads)
        log.close()
        engine.dispose()
    print(f"{rate:.1f} {cpu_us:.2f}")


def compare(baseline: str, seconds: float, threads: int, repeat: int, postgres: str | None) -> None:
    """Append figures of ``baseline``'s code and of this tree, alternating fresh processes."""
    import io
    import statistics
    import subprocess
    import tarfile

    with tempfile.TemporaryDirectory() as old_root:
        archive = subprocess.run(["git", "-C", str(PROJECT), "archive", "--format=tar", baseline],
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old_root, filter="data")
        specs = [f"{sync}:{n}" for sync in ("FULL", "NORMAL") for n in (1, threads)]
        if postgres:
            specs += [f"PG:{n}" for n in (1, threads)]
        print(f"append CPU per record (whole process), median of {repeat}: {baseline} -> this tree")
        for spec in specs:
            figures: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for _ in range(repeat):
                for name, root in (("before", old_root), ("after", str(PROJECT))):
                    cmd = [sys.executable, __file__, "--code-root", root, "--one", spec, "--seconds", str(seconds)]
                    if postgres:
                        cmd += ["--postgres", postgres]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
                    figures[name].append((float(out[0]), float(out[1])))
            (before_rate, before_cpu), (after_rate, after_cpu) = (
                tuple(statistics.median(v) for v in zip(*figures[n])) for n in ("before", "after")
            )
            label = spec.replace("PG:", "postgresql threads=").replace(":", " threads=")
            print(f"append  {label:22}: {before_cpu:6.1f} -> {after_cpu:6.1f} us CPU/append"
                  f"   ({before_rate:6.0f} -> {after_rate:6.0f} appends/s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", help="also measure appends on this PostgreSQL URL (tables are created)")
    parser.add_argument("--baseline", help="git revision to compare the append figures with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_figure(args.one, args.seconds, args.postgres)
        return
    if args.baseline:
        compare(args.baseline, args.seconds, args.threads, args.repeat, args.postgres)
        return
    print(f"record: message {len(MESSAGE)} B, signature {len(SIGNATURE)} B; {args.seconds:.0f} s per figure")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(dir=str(Path(__file__).resolve().parent)) as tmp:
        for sync in ("FULL", "NORMAL"):
            rate, cpu_us = raw_commit_rate(Path(tmp) / f"raw-{sync}.db", sync)
            print(f"baseline bare sqlite3 commits synchronous={sync:6}: {rate:8.0f} commits/s {cpu_us:6.1f} us CPU/commit")
        for sync in ("FULL", "NORMAL"):
            rate, cpu_us = raw_record_rate(Path(tmp) / f"rawrec-{sync}.db", sync)
            print(f"baseline bare sqlite3 ml_record synchronous={sync:6}: {rate:6.0f} commits/s {cpu_us:6.1f} us CPU/commit")
        for sync in ("FULL", "NORMAL"):
            for threads in (1, args.threads):
                log = MessageLog(open_engine(Path(tmp) / f"{sync}-{threads}.db", synchronous=sync, pool_size=threads + 2))
                rate, cpu_us = run_appends(log, args.seconds, threads)
                log.close()
                print(f"append  synchronous={sync:6} threads={threads}: {rate:8.0f} appends/s {cpu_us:6.1f} us CPU/append")
        if args.postgres:
            for threads in (1, args.threads):
                engine = open_engine(args.postgres, pool_size=threads + 2)
                log = MessageLog(engine)
                rate, cpu_us = run_appends(log, args.seconds, threads)
                log.close()
                engine.dispose()
                print(f"append  postgresql         threads={threads}: {rate:8.0f} appends/s {cpu_us:6.1f} us CPU/append")

        log = MessageLog(open_engine(Path(tmp) / "stamped.db", pool_size=args.threads + 2))
        stamper = Timestamper(log, quick_stamper, batch_size=2000)
        stop = threading.Event()
        stamped = [0]

        def stamping() -> None:
            while not stop.is_set():
                stamped[0] += stamper.run_once()
                time.sleep(0.05)

        t = threading.Thread(target=stamping)
        t.start()
        rate, cpu_us = run_appends(log, args.seconds, args.threads)
        stop.set()
        t.join()
        print(f"append  synchronous=FULL   threads={args.threads} while timestamping: {rate:8.0f} appends/s"
              f" ({stamped[0]} records stamped meanwhile)")
        log.close()

        accept_log = MessageLog(open_engine(Path(tmp) / "stamped.db"))
        accept_log.check_accepting()
        n = 100_000
        started = time.process_time()
        for _ in range(n):
            accept_log.check_accepting()
        print(f"accept  check_accepting() (state cached): {(time.process_time() - started) / n * 1e6:6.2f} us CPU/message")
        accept_log.close()

        finish_us, flush_us = monitoring_cost(open_engine(Path(tmp) / "opmon.db"))
        print(f"opmon   feed.finish (proxy thread): {finish_us:6.1f} us CPU/exchange; flush (writer): {flush_us:6.1f} us CPU/exchange")

        conf = ServerConf(open_engine(Path(tmp) / "conf.db"), refresh_interval=1.0)
        conf.add_client(PROVIDER, state="REGISTERED")
        conf.add_wsdl(PROVIDER, "http://b/s.wsdl", enabled=True,
                      operations=[Operation(f"op{i}", "v1", "http://b/") for i in range(200)] + [Operation("getPerson", "v1")])
        for i in range(200):
            conf.grant(PROVIDER, f"op{i}", SubsystemId("EE", "COM", str(i), "x"))
        conf.grant(PROVIDER, "getPerson", CLIENT)
        checker = AccessChecker(conf.snapshot)
        checker.decide(CLIENT, SERVICE)
        n = 50_000
        started = time.perf_counter()
        for _ in range(n):
            checker.decide(CLIENT, SERVICE)
        elapsed = time.perf_counter() - started
        print(f"access  decide() on a cached snapshot (201 services): {elapsed / n * 1e6:6.1f} us/decision")


if __name__ == "__main__":
    main()
