"""Feeding operational monitoring and metrics from the proxies, off the hot path.

Each proxy notes what it learns about an exchange in a small dict (``OpNote``):
who called what, the query id, sizes, the outcome. When the answer has been built,
:meth:`MonitoringFeed.finish` turns it into an X-Road operational monitoring record
(PR-OPMON field names, ``gateway.monitoring._store``) and a metrics observation
(``gateway.monitoring._metrics``). Metrics are in-memory counters; records are queued and
written in batches by a background thread every ``flush_seconds``, so monitoring
never adds a database commit to an exchange. A full queue drops records (and counts
them) rather than slow traffic down.

The proxy's share is a few dictionary updates and an append to a ``deque`` (atomic
under the GIL: no lock, no condition variable per exchange); the flush thread pays
for validation, identifiers (cached) and JSON, once per second for the whole batch.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from typing import Any

from trust.protocol import ClientId, ServiceId, SubsystemId

log = logging.getLogger("sild.gateway.monitoring")

OpNote = dict[str, Any]


def new_note(side: str) -> OpNote:
    now_ms = int(time.time() * 1000)
    return {"securityServerType": "Client" if side == "client" else "Producer", "requestInTs": now_ms,
            "_t0": time.perf_counter(), "_side": side}


def note_ids(note: OpNote, client: ClientId, service: ServiceId) -> None:
    note.update({"clientXRoadInstance": client.instance, "clientMemberClass": client.member_class,
                 "clientMemberCode": client.member_code,
                 "serviceXRoadInstance": service.instance, "serviceMemberClass": service.member_class,
                 "serviceMemberCode": service.member_code, "serviceCode": service.service_code})
    if isinstance(client, SubsystemId):
        note["clientSubsystemCode"] = client.subsystem_code
    if service.subsystem_code is not None:
        note["serviceSubsystemCode"] = service.subsystem_code
    if service.service_version is not None:
        note["serviceVersion"] = service.service_version


class MonitoringFeed:
    """Turns notes into op-monitoring records (batched) and metrics (immediate)."""

    def __init__(self, opmonitor: Any = None, metrics: Any = None, *, flush_seconds: float = 1.0,
                 max_queue: int = 100_000) -> None:
        self.opmonitor = opmonitor
        self.metrics = metrics
        self.dropped = 0
        self._max_queue = max_queue
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._stop = threading.Event()
        self._flush_seconds = flush_seconds
        self._thread: threading.Thread | None = None
        if opmonitor is not None:
            self._thread = threading.Thread(target=self._run, name="opmonitoring-writer", daemon=True)
            self._thread.start()

    def finish(self, note: OpNote, *, fault_code: str | None = None, fault_string: str | None = None,
               status: int | None = None) -> None:
        try:
            duration = time.perf_counter() - note.pop("_t0")
            side = note.pop("_side")
            now_ms = int(time.time() * 1000)
            note["responseOutTs"] = now_ms
            note["monitoringDataTs"] = now_ms // 1000
            note["succeeded"] = fault_code is None
            if fault_code is not None:
                note["faultCode"] = fault_code
                note["faultString"] = (fault_string or "")[:1000]
            if status is not None:
                note["statusCode"] = status
            note["xRoadVersion"] = "sild/1"
            if self.metrics is not None:
                kind = str(note.get("serviceType") or "OTHER")
                self.metrics.observe(side, kind, duration, fault_code)
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
        batch = []
        take = self._queue.popleft
        while True:
            try:
                batch.append(take())
            except IndexError:
                break
        if not batch or self.opmonitor is None:
            return 0
        from ._store import store_many

        try:
            return int(store_many(self.opmonitor, batch))
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
