"""Prometheus metrics of one gateway: requests, failures by code, latency.

Each :class:`GatewayMetrics` owns its own ``CollectorRegistry``; nothing is put in
``prometheus_client``'s global default registry, so two gateways in one process (the
sandbox, the tests) never mix their figures. :meth:`GatewayMetrics.render` gives the
text exposition format for a ``/metrics`` endpoint.

Labels are kept to bounded sets (side, service type, fault code); client and service
identifiers are *not* labels - they would make the number of series unbounded - and
live in operational monitoring records instead.

Every family here is updated by production code, never only by tests: the feed
(:mod:`gateway.monitoring._feed`) observes each exchange, the message log counts the
records it writes (``on_append``), the timestamping gauges read the log's state at
scrape time, and the node reports each configuration refresh
(:meth:`GatewayMetrics.observe_configuration`). ``tests/gateway/monitoring`` reads
``/metrics`` after real exchanges to keep it so.

With ``workers: N`` the figures of every process are merged into one ``/metrics``;
how, and why a worker's figures are retired when it exits, is told in
:mod:`gateway.monitoring._merge`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from trust.infra import write_atomic

from federation.client import ConfRolledBack

from ._merge import (
    MAX_INCLUDED_FILE_BYTES, METRICS_FILE_SUFFIX, RETIRED_FILE, _Merged, _parse, _read_bounded, _read_dumps,
)

log = logging.getLogger(__name__)

SIDES = ("client", "server")
ROLLED_BACK = ConfRolledBack.code
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    """The gateway's metrics in a registry of its own."""

    def __init__(self, *, namespace: str = "sild_gateway") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._files = threading.Lock()  # render(include=) never sees a retire() half done
        self.requests = Counter(
            "requests", "Exchanges handled, by proxy side and service type",
            ["side", "service_type"], namespace=namespace, registry=self.registry,
        )
        self.failures = Counter(
            "failures", "Exchanges that ended in an X-Road fault, by side and fault code",
            ["side", "code"], namespace=namespace, registry=self.registry,
        )
        self.latency = Histogram(
            "request_duration_seconds", "Time from request in to response out, by side",
            ["side", "service_type"], namespace=namespace, registry=self.registry, buckets=LATENCY_BUCKETS,
        )
        self.messagelog_appends = Counter(
            "messagelog_appends", "Message log records written", namespace=namespace, registry=self.registry,
        )
        self.timestamping_last_success = Gauge(
            "messagelog_timestamping_last_success_seconds", "Unix time of the last successful batch timestamp",
            namespace=namespace, registry=self.registry,
        )
        self.timestamping_overdue = Gauge(
            "messagelog_timestamping_overdue", "1 while messages are refused because timestamping is overdue",
            namespace=namespace, registry=self.registry,
        )
        self.configuration_expiry = Gauge(
            "configuration_expiry_seconds", "Unix time at which the stored global configuration expires, by instance",
            ["instance"], namespace=namespace, registry=self.registry,
        )
        self.configuration_rollbacks = Counter(
            "configuration_rollbacks_refused", "Downloads refused because the directory was older than the one held",
            ["instance"], namespace=namespace, registry=self.registry,
        )

    def observe(self, side: str, service_type: str, duration_seconds: float, fault_code: str | None = None) -> None:
        """Record one exchange; ``fault_code`` (e.g. ``server.serverproxy.access_denied``) when it failed."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}")
        service_type = service_type if service_type in ("WSDL", "REST", "OPENAPI", "SOAP") else "OTHER"
        self.requests.labels(side, service_type).inc()
        self.latency.labels(side, service_type).observe(max(0.0, duration_seconds))
        if fault_code:
            self.failures.labels(side, _bounded_code(fault_code)).inc()

    def observe_record(self, record: Mapping[str, Any]) -> None:
        """Record an exchange from its operational monitoring record (X-Road field names)."""
        side = "client" if record.get("securityServerType") == "Client" else "server"
        start, end = record.get("requestInTs"), record.get("responseOutTs")
        duration = (end - start) / 1000.0 if isinstance(start, int) and isinstance(end, int) else 0.0
        fault = None if record.get("succeeded") else str(record.get("faultCode") or "unknown")
        self.observe(side, str(record.get("serviceType") or "OTHER"), duration, fault)

    def bind_overdue(self, check: Callable[[], bool]) -> None:
        """Let the overdue gauge ask the message log at scrape time."""
        self.timestamping_overdue.set_function(lambda: 1.0 if check() else 0.0)

    def bind_last_success(self, last: Callable[[], dt.datetime | None]) -> None:
        """Let the last-success gauge ask the message log at scrape time (0 before the first success).

        The log keeps the moment in its database, so the gauge is right in any process
        and after a restart, whichever process ran the timestamping.
        """
        def read() -> float:
            moment = last()
            return moment.timestamp() if moment is not None else 0.0

        self.timestamping_last_success.set_function(read)

    def observe_configuration(self, outcomes: Iterable[Any]) -> None:
        """Record a configuration refresh: ``outcomes`` are the client's per-instance outcomes."""
        for outcome in outcomes:
            instance = _bounded_code(str(outcome.instance))
            if outcome.code == ROLLED_BACK:
                self.configuration_rollbacks.labels(instance).inc()
            if outcome.expires_at is not None:
                self.configuration_expiry.labels(instance).set(outcome.expires_at.timestamp())

    def dump(self, path: Path) -> None:
        """Write this registry's text exposition to ``path`` atomically (for a worker process).

        A reader sees the previous dump or this one, never half of one. The name must end
        in :data:`METRICS_FILE_SUFFIX`, or :meth:`render` would never read it; ``OSError``
        propagates (the caller logs it and tries again at its next dump).
        """
        if path.suffix != METRICS_FILE_SUFFIX or path.name.startswith("."):
            raise ValueError(f"a metrics dump must be a visible *{METRICS_FILE_SUFFIX} file, not {path.name!r}")
        write_atomic(path, generate_latest(self.registry), mode=0o600)

    def render(self, *, include: Path | None = None) -> tuple[bytes, str]:
        """(body, content type) in the Prometheus text format.

        Without ``include``: this registry alone. With ``include``, a directory: this
        registry merged with every ``*.prom`` dump in it (see the module docstring for the
        rules). The directory must not hold this process's own dump, which would count
        twice. What is read is bounded (:data:`MAX_INCLUDED_FILES` files, each at most
        :data:`MAX_INCLUDED_FILE_BYTES`, :data:`MAX_INCLUDED_TOTAL_BYTES` in all): the
        directory is only as trustworthy as the processes that can write to it, and a scrape
        runs in the admin API's request thread, so a stray or runaway file must cost a
        bounded amount of memory and time, never an unbounded one. A missing directory
        (no worker has dumped yet) gives this registry's figures alone.
        """
        if include is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = _Merged(self.registry.collect())
        with self._files:
            for name, families in _read_dumps(include):
                merged.add(name, families)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(merged)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def retire(self, dump: Path) -> None:
        """Fold the last dump of a worker that has EXITED into ``retired.prom`` beside it, and remove it.

        The main process calls this before it starts a replacement that will write to the
        same name: the dead worker's totals stay in the sums :meth:`render` shows, so they
        never drop (Prometheus would read a drop as a counter reset and count the whole
        remaining sum again). ``retired.prom`` keeps one series per label set, so it does not
        grow with restarts. Nothing to do if the worker never dumped; a dump that cannot be
        read or parsed is removed with a warning (``render`` never counted it). Only the
        summed families are kept: gauges are the main process's anyway. ``OSError`` from
        writing or removing propagates (the caller logs it).
        """
        directory = dump.parent
        target = directory / RETIRED_FILE
        if dump.name == RETIRED_FILE:
            raise ValueError(f"{RETIRED_FILE} is where dumps are retired to")
        with self._files:
            merged = _Merged(self.registry.collect(), own_samples=False)
            for path in (target, dump):
                try:
                    data = _read_bounded(path, MAX_INCLUDED_FILE_BYTES)
                except FileNotFoundError:
                    continue
                except OSError as exc:  # too large, not a regular file: render() does not count it either
                    log.warning("metrics: not retiring %s: %s", path.name, exc)
                    continue
                families = _parse(path.name, data)
                if families is not None:
                    merged.add(path.name, families)
            if dump.exists():
                registry = CollectorRegistry(auto_describe=False)
                registry.register(merged)
                write_atomic(target, generate_latest(registry), mode=0o600)
                dump.unlink()  # after the write: a crash in between counts twice, never loses


def _bounded_code(code: str) -> str:
    """Fault codes are a fixed vocabulary, but a peer can send anything: keep labels sane."""
    code = code.strip()[:100]
    return code if all(c.isalnum() or c in "._-" for c in code) and code else "invalid"
