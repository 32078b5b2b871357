"""Evidence storage: bytes per exchange in the message log's database and in its archives.

    .venv/bin/python bench/storage.py [--sandbox DIR] [--exchanges 2000] [--clients 4] [--cases soap,rest]

Runs ``--exchanges`` exchanges per case through the sandbox's gateway pair (EE tax ->
EE gateway -> FI gateway -> backend, set up as :mod:`exchange` does: without
``--sandbox`` a sandbox is started in a temporary directory and stopped at the end),
waits until the gateways have timestamped them, and prints per case and per side
(client side = the EE gateway, server side = the FI gateway):

* **database**: the bytes the new records hold (messages, signatures, hash chains,
  attachments, their share of the timestamps: the values as stored, uncompressed) and
  the growth of the SQLite file (pages in use, indexes included), per exchange;
* **archives**: the same records archived (:class:`gateway.messagelog.Archiver`, on a
  copy of the log holding only them, so the running gateways are not disturbed): the
  containers' content before any compression, the containers (each ASiC-E deflates
  its entries), and the archive files (the archive deflates again), per exchange, and
  the archiving throughput: records per second of wall time and per CPU-second of
  the archiving process (the second is what a loaded host distorts least).

An exchange is two records on each side (request and response). Everything shares
this machine's cores with the sandbox, so throughput figures are what this host gave
at that moment; the byte figures do not depend on it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import lzma
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import builds  # noqa: E402
import exchange  # noqa: E402

SIDES = (("client", "EE/GOV/70000001/gw1"), ("server", "FI/GOV/0245437-2/gw1"))


def log_db(state: dict, gateway: str) -> Path:
    return Path(next(g["directory"] for g in state["gateways"] if g["id"] == gateway)) / "messagelog.db"


def max_id(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM ml_record").fetchone()[0])


def pages_in_use(db: Path) -> int:
    """Bytes of the database's pages in use (the WAL's newer pages included, as a reader sees the file)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0])
                   * size)


VALUES = """SELECT count(*), coalesce(sum(length(r.message) + coalesce(length(r.body), 0) + length(r.signature)
    + length(r.signature_hash) + coalesce(length(r.hash_chain), 0) + coalesce(length(r.hash_chain_result), 0)
    + length(r.attachments) + length(r.query_id) + length(r.client_id) + length(r.service_id)), 0)
    FROM ml_record r WHERE r.id > ? AND r.id <= ?"""
LINKS = """SELECT coalesce(sum(coalesce(length(t.hash_chain), 0) + coalesce(length(t.signature), 0)), 0),
    count(DISTINCT t.timestamp_id) FROM ml_record_ts t WHERE t.record_id > ? AND t.record_id <= ?"""
STAMPS = """SELECT coalesce(sum(length(s.token) + coalesce(length(s.hash_chain_result), 0)), 0) FROM ml_timestamp s
    WHERE s.id IN (SELECT timestamp_id FROM ml_record_ts WHERE record_id > ? AND record_id <= ?)"""
ATTACHED = "SELECT coalesce(sum(length(data)), 0) FROM ml_attachment WHERE record_id > ? AND record_id <= ?"


def stored_values(db: Path, low: int, high: int) -> tuple[int, int]:
    """(records, bytes of their values) in ``low < id <= high``, timestamps included."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        records, values = conn.execute(VALUES, (low, high)).fetchone()
        links, _ = conn.execute(LINKS, (low, high)).fetchone()
        stamps = conn.execute(STAMPS, (low, high)).fetchone()[0]
        attached = conn.execute(ATTACHED, (low, high)).fetchone()[0]
    return int(records), int(values + links + stamps + attached)


def wait_stamped(db: Path, low: int, high: int, limit: float = 300.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            left = conn.execute("SELECT count(*) FROM ml_record r LEFT JOIN ml_record_ts t ON t.record_id = r.id "
                                "WHERE r.id > ? AND r.id <= ? AND t.record_id IS NULL", (low, high)).fetchone()[0]
        if not left:
            return
        time.sleep(2)
    raise SystemExit(f"{db}: {left} record(s) still without a timestamp after {limit:.0f} s")


def archive_copy(db: Path, low: int, high: int, work: Path, solid: bool = False) -> dict[str, float]:
    """Archive the records ``low < id <= high`` of a copy of ``db``: sizes and throughput."""
    from gateway.db import open_engine
    from gateway.messagelog import Archiver, MessageLog

    copy = work / "messagelog.db"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
        # only the measured records, none archived: a fresh chain of archives holds exactly them
        dst.execute("DELETE FROM ml_record_archive")
        dst.execute("DELETE FROM ml_archive")
        for table in ("ml_attachment", "ml_record_ts"):
            dst.execute(f"DELETE FROM {table} WHERE record_id <= ? OR record_id > ?", (low, high))
        dst.execute("DELETE FROM ml_record WHERE id <= ? OR id > ?", (low, high))
        dst.commit()
    mlog = MessageLog(open_engine(copy))
    solid_stream = lzma.LZMACompressor() if solid else None
    directory = work / "archive"
    started, cpu = time.perf_counter(), time.process_time()
    infos = Archiver(mlog, directory).archive_all()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    mlog.close()
    content = exported = solid = 0
    for info in infos:
        with zipfile.ZipFile(info.file) as archive:
            for name in archive.namelist():
                if name.endswith(".asice"):
                    data = archive.read(name)
                    exported += len(deflated(data))
                    with zipfile.ZipFile(io.BytesIO(data)) as container:
                        content += sum(i.file_size for i in container.infolist())
                    if solid_stream is not None:
                        solid += len(solid_stream.compress(data))
    if solid_stream is not None:
        solid += len(solid_stream.flush())
    return {"records": sum(i.record_count for i in infos), "files": len(infos), "seconds": seconds, "cpu": cpu,
            "content": content, "exported": exported, "archives": sum(i.size for i in infos), "solid": solid}


def deflated(container: bytes) -> bytes:
    """The container with each entry deflated, as ``sild gateway log export`` writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(container)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(copy, src.read(info))
    return out.getvalue()


def drive(base: str, request: exchange.Request, count: int, clients: int) -> tuple[int, float]:
    """``count`` exchanges over ``clients`` keep-alive connections: (errors, seconds)."""
    call = exchange.python_call(request)
    errors = [0]
    lock = threading.Lock()
    shares = [count // clients + (1 if n < count % clients else 0) for n in range(clients)]

    def worker(share: int) -> None:
        caller = exchange.Caller(base)
        try:
            for _ in range(share):
                try:
                    call(caller)
                except Exception:  # noqa: BLE001 - counted; a failed call may still be logged on one side
                    with lock:
                        errors[0] += 1
                    caller.close()
                    caller = exchange.Caller(base)
        finally:
            caller.close()

    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors[0], time.perf_counter() - started


def measure_case(state: dict, name: str, base: str, request: exchange.Request, args: argparse.Namespace) -> None:
    before = {side: (max_id(log_db(state, gw)), pages_in_use(log_db(state, gw))) for side, gw in SIDES}
    errors, seconds = drive(base, request, args.exchanges, args.clients)
    done = args.exchanges - errors
    print(f"\n{name}: {done} exchanges in {seconds:.1f} s ({done / seconds:.0f}/s, {errors} errors)", flush=True)
    print(f"  {'side':<8}{'records':>8}{'DB values':>11}{'DB file':>9}{'content':>9}{'ASiC-E':>8}{'archive':>9}"
          f"{'ratio':>7}{'xz':>7}{'archiving: records/s, per CPU-s':>36}   (bytes per exchange)")
    for side, gw in SIDES:
        db = log_db(state, gw)
        low = before[side][0]
        high = max_id(db)
        wait_stamped(db, low, high)
        records, values = stored_values(db, low, high)
        grown = pages_in_use(db) - before[side][1]
        with tempfile.TemporaryDirectory(prefix="sild-storage-") as work:
            got = archive_copy(db, low, high, Path(work), args.solid)
        per = max(done, 1)
        rate = got["records"] / got["seconds"] if got["seconds"] else 0.0
        per_cpu = got["records"] / got["cpu"] if got["cpu"] else 0.0
        mb = values / got["cpu"] / 1e6 if got["cpu"] else 0.0
        xz = f"{got['solid'] / per:>7.0f}" if args.solid else f"{'-':>7}"
        print(f"  {side:<8}{records:>8}{values / per:>11.0f}{grown / per:>9.0f}{got['content'] / per:>9.0f}"
              f"{got['exported'] / per:>8.0f}{got['archives'] / per:>9.0f}{values / max(got['archives'], 1):>6.1f}x"
              f"{xz}{rate:>12.0f}{per_cpu:>9.0f} ({mb:.1f} MB of DB values per CPU-s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", type=Path, default=None, help="a running sandbox directory")
    parser.add_argument("--exchanges", type=int, default=2000, help="exchanges per case")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--cases", default="soap echo,rest echo,soap gettaxrecord",
                        help="comma-separated case name prefixes (bench/exchange.py's cases)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per gateway of a started sandbox")
    parser.add_argument("--solid", action="store_true",
                        help="also print xz over all containers as one stream: what cross-record compression "
                             "could reach (not a format sild writes)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = args.sandbox or Path(tempfile.mkdtemp(prefix="sild-bench-storage-"))
        if args.sandbox is None:
            print(f"starting a sandbox in {root} ({args.workers} worker processes per gateway) ...", flush=True)
            builds.sandbox_up(ROOT, root, args.workers)
            stack.callback(shutil.rmtree, root, True)
            stack.callback(builds.sandbox_down, ROOT, root)
            builds.settle()
        lean, lean_proc = exchange.start_lean_backend()
        stack.callback(lambda: (lean_proc.terminate(), lean_proc.wait()))
        state = json.loads((root / "sandbox.json").read_text())
        exchange.register_lean(state, lean)
        wanted = [w.strip().lower() for w in args.cases.split(",") if w.strip()]
        print("DB values: the records' values as stored (uncompressed); DB file: the SQLite file's growth; "
              "content: the containers' entries, uncompressed; ASiC-E: the containers deflated entry by entry (as "
              "`gateway log export` writes them); archive: the archive files (containers deflated whole); ratio: "
              "DB values / archive; xz (--solid): all containers as one xz stream", flush=True)
        for name, (base, request), _direct in exchange.cases(state, lean):
            if any(name.lower().startswith(w) for w in wanted):
                measure_case(state, name, base, request, args)


if __name__ == "__main__":
    main()
