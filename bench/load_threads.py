"""Run a bench's load threads: start them all, then wait for every one.

The throughput benches (``exchange.py``, ``messagelog.py``) time a set of worker
threads from the moment the first starts until the last has ended; they share this
loop so that each measures the same span.
"""

from __future__ import annotations

import threading
from typing import Sequence


def start_and_join(threads: Sequence[threading.Thread]) -> None:
    """Start every thread of ``threads``, then join each of them."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
