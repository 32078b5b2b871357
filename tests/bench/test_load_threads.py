"""bench/load_threads.py: every load thread is started and has ended when the call returns."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from load_threads import start_and_join  # noqa: E402


def test_start_and_join_runs_every_thread_to_its_end() -> None:
    barrier = threading.Barrier(3)  # passes only if all three run at the same time
    done: list[int] = []

    def worker(i: int) -> None:
        barrier.wait(timeout=10)
        done.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    start_and_join(threads)
    assert sorted(done) == [0, 1, 2]
    assert not any(t.is_alive() for t in threads)
