"""Feeding operational monitoring and metrics from the proxies, off the hot path.

Each proxy notes what it learns about an exchange in an :class:`OpNote`
(``gateway.monitoring._note``): who called what, the query id, sizes, the outcome.
When the answer has been built, :meth:`MonitoringFeed.finish` stamps the outcome and
makes a metrics observation (``gateway.monitoring._metrics``) and queues the note; the
queue is turned into X-Road operational monitoring records (PR-OPMON field names,
``gateway.monitoring._store``) and written in batches by a background thread every
``flush_seconds``, so monitoring never adds a database commit to an exchange. A full
queue drops notes (and counts them) rather than slow traffic down.

The proxy's share is a few attribute writes and an append to a ``deque`` (atomic
under the GIL: no lock, no condition variable per exchange); the flush thread pays
for field names, validation, identifiers (cached) and JSON, once per second for the
whole batch.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from typing import Any

from ._note import OpNote

log = logging.getLogger("sild.gateway.monitoring")


class MonitoringFeed:
    """Turns notes into op-monitoring records (batched) and metrics (immediate)."""

    def __init__(self, opmonitor: Any = None, metrics: Any = None, *, flush_seconds: float = 1.0,
                 max_queue: int = 100_000) -> None:
        self.opmonitor = opmonitor
        self.metrics = metrics
        # getSecurityServerHealthData's monitoringStartupTimestamp (ms): when this feed began
        self.started_ms = int(time.time() * 1000)
        self.dropped = 0
        self._max_queue = max_queue
        self._queue: collections.deque[OpNote] = collections.deque()
        self._stop = threading.Event()
        self._flush_seconds = flush_seconds
        self._thread: threading.Thread | None = None
        if opmonitor is not None:
            self._thread = threading.Thread(target=self._run, name="opmonitoring-writer", daemon=True)
            self._thread.start()

    def finish(self, note: OpNote, *, fault_code: str | None = None, fault_string: str | None = None,
               status: int | None = None) -> None:
        try:
            duration = time.perf_counter() - note.started
            note.response_out_ts = int(time.time() * 1000)
            note.fault_code, note.fault_string = fault_code, fault_string
            if status is not None:
                note.status_code = status
            if self.metrics is not None:
                self.metrics.observe(note.side, note.service_type or "OTHER", duration, fault_code)
            if self.opmonitor is not None:
                if len(self._queue) < self._max_queue:
                    self._queue.append(note)
                else:
                    self.dropped += 1
        except Exception:  # noqa: BLE001 - monitoring must never break an exchange
            log.exception("monitoring note could not be recorded")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._flush_seconds)
            self.flush()

    def flush(self) -> int:
        batch: list[OpNote] = []
        take = self._queue.popleft
        while True:
            try:
                batch.append(take())
            except IndexError:
                break
        if not batch or self.opmonitor is None:
            return 0
        from ._store import store_many

        # monitoringDataTs is when the record reached the store, as X-Road's daemon sets it: a
        # reader that asks up to a second already past (minus a margin) then misses nothing
        # written later (gateway.monitoring._opdata.RECORDS_AVAILABLE_OFFSET_SECONDS)
        stored_at = int(time.time())
        try:
            return int(store_many(self.opmonitor, [{**note.fields(), "monitoringDataTs": stored_at}
                                                   for note in batch]))
        except Exception:  # noqa: BLE001 - a monitoring database problem must not stop traffic
            log.exception("could not store %d operational monitoring records", len(batch))
            return 0

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def utc_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
