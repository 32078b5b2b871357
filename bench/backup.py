"""Backup and restore speed, and what a backup taken while the node writes costs the writer.

    .venv/bin/python bench/backup.py [--mib 200]

Builds a node directory with one SQLite database in WAL mode of about ``--mib`` MiB
(message-log-like rows: 2 KiB message, 4 KiB signature, half of it random so that it
does not compress away) and prints, for a plain and an encrypted archive: wall and
CPU seconds of ``write_backup`` and ``restore_backup``, MiB/s, and the archive's size.
Then the commits per second of a writer appending rows (synchronous=FULL) before,
while and after a backup runs: the backup reads one WAL snapshot and never blocks the
writer. Those figures are bound by fsync, so they follow the disk and whatever else
writes to it; compare the three of one run, never across machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trust.backup import NodeKind, restore_backup, write_backup  # noqa: E402

KIND = NodeKind(role="bench", identity=lambda _d: "bench")


def _row() -> tuple[bytes, bytes]:
    return os.urandom(1024) + b"m" * 1024, os.urandom(2048) + b"s" * 2048


def build(node: Path, mib: int) -> None:
    node.mkdir()
    conn = sqlite3.connect(node / "messagelog.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE record (id INTEGER PRIMARY KEY, message BLOB, signature BLOB)")
    rows = mib * 1024 // 6
    for start in range(0, rows, 1000):
        conn.executemany("INSERT INTO record (message, signature) VALUES (?, ?)",
                         [_row() for _ in range(min(1000, rows - start))])
        conn.commit()
    conn.close()


def timed(what: str, run, size: float) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {what:<28} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {size / wall:7.1f} MiB/s")


def writer_rate(node: Path, seconds: float, during: threading.Event | None = None) -> float:
    conn = sqlite3.connect(node / "messagelog.db")
    conn.execute("PRAGMA synchronous=FULL")
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end and (during is None or not during.is_set()):
        conn.execute("INSERT INTO record (message, signature) VALUES (?, ?)", _row())
        conn.commit()
        n += 1
    conn.close()
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sild-bench-backup-"))
    try:
        node = base / "node"
        build(node, args.mib)
        size = (node / "messagelog.db").stat().st_size / 2**20
        print(f"node: one WAL database of {size:.0f} MiB")
        for label, passphrase in (("plain", None), ("encrypted", "bench passphrase")):
            out = base / f"{label}.bak"
            timed(f"backup ({label})", lambda: write_backup(node, out, KIND, passphrase=passphrase), size)
            print(f"  archive: {out.stat().st_size / 2**20:.0f} MiB")
            target = base / f"restored-{label}"
            timed(f"restore ({label})", lambda: restore_backup(out, target, KIND, passphrase=passphrase), size)
        writer_rate(node, 2.0)  # warm-up: the first commits checkpoint the WAL left by the build
        alone = writer_rate(node, 5.0)
        done = threading.Event()

        def backup() -> None:
            write_backup(node, base / "during.bak", KIND)
            done.set()

        thread = threading.Thread(target=backup)
        start = time.monotonic()
        thread.start()
        during = writer_rate(node, 30.0, done) * 30.0 / max(time.monotonic() - start, 1e-9)
        thread.join()
        after = writer_rate(node, 5.0)
        print(f"writer commits/s (FULL): alone {alone:.0f}, while a backup runs {during:.0f}, after {after:.0f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
