"""Message-log append throughput (the hot path) and the cost of an access decision.

    .venv/bin/python bench/messagelog.py [--seconds 3] [--threads 4]

Prints appends per second for SQLite WAL with synchronous=FULL (sild's default) and
NORMAL, from one thread and from several, with a realistic record (2 KiB SOAP message,
4 KiB XAdES signature); the same while the batch timestamper stamps the table
(stamper = a local stand-in that returns at once, so only the database part is
measured); and the per-message cost of ``AccessChecker.decide`` on a cached snapshot.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.access import AccessChecker  # noqa: E402
from gateway.messagelog import LogEntry, MessageLog  # noqa: E402
from gateway.messagelog_timestamper import BatchStamp, Timestamper  # noqa: E402
from gateway.serverconf import Operation, ServerConf  # noqa: E402
from gateway.serverconf_db import open_engine  # noqa: E402
from trust.identifiers import SubsystemId  # noqa: E402

CLIENT = SubsystemId("EE", "COM", "20000002", "app")
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = PROVIDER.service("getPerson", "v1")
MESSAGE = b"<soap>" + os.urandom(1000).hex().encode() + b"</soap>"
SIGNATURE = b"<asic:XAdESSignatures>" + os.urandom(2000).hex().encode() + b"</asic:XAdESSignatures>"


def entry(n: int) -> LogEntry:
    return LogEntry(query_id=f"q-{n}", client=CLIENT, service=SERVICE, side="client", direction="request",
                    kind="SOAP", message=MESSAGE, signature=SIGNATURE, x_request_id=f"r-{n}")


def run_appends(log: MessageLog, seconds: float, threads: int) -> float:
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            log.append(entry(i * 10_000_000 + n))
            n += 1
        counts[i] = n

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def quick_stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
    return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))


def raw_commit_rate(path: Path, sync: str, n: int = 300) -> float:
    """Bare sqlite3 (no sild, no SQLAlchemy): one 6 KiB row per commit - the disk's own limit."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
    conn.commit()
    started = time.perf_counter()
    for _ in range(n):
        conn.execute("INSERT INTO t (b) VALUES (?)", (MESSAGE + SIGNATURE,))
        conn.commit()
    rate = n / (time.perf_counter() - started)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    print(f"record: message {len(MESSAGE)} B, signature {len(SIGNATURE)} B; {args.seconds:.0f} s per figure")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(dir=str(Path(__file__).resolve().parent)) as tmp:
        for sync in ("FULL", "NORMAL"):
            print(f"baseline bare sqlite3 commits synchronous={sync:6}: {raw_commit_rate(Path(tmp) / f'raw-{sync}.db', sync):8.0f} commits/s")
        for sync in ("FULL", "NORMAL"):
            for threads in (1, args.threads):
                log = MessageLog(open_engine(Path(tmp) / f"{sync}-{threads}.db", synchronous=sync, pool_size=threads + 2))
                rate = run_appends(log, args.seconds, threads)
                print(f"append  synchronous={sync:6} threads={threads}: {rate:8.0f} appends/s")

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
        rate = run_appends(log, args.seconds, args.threads)
        stop.set()
        t.join()
        print(f"append  synchronous=FULL   threads={args.threads} while timestamping: {rate:8.0f} appends/s"
              f" ({stamped[0]} records stamped meanwhile)")

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
