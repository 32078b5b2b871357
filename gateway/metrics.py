"""Prometheus metrics of one gateway: requests, failures by code, latency.

Each :class:`GatewayMetrics` owns its own ``CollectorRegistry``; nothing is put in
``prometheus_client``'s global default registry, so two gateways in one process (the
sandbox, the tests) never mix their figures. :meth:`GatewayMetrics.render` gives the
text exposition format for a ``/metrics`` endpoint.

Labels are kept to bounded sets (side, service type, fault code); client and service
identifiers are *not* labels - they would make the number of series unbounded - and
live in operational monitoring records instead.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

SIDES = ("client", "server")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    """The gateway's metrics in a registry of its own."""

    def __init__(self, *, namespace: str = "sild_gateway") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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

    def render(self) -> tuple[bytes, str]:
        """(body, content type) in the Prometheus text format."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _bounded_code(code: str) -> str:
    """Fault codes are a fixed vocabulary, but a peer can send anything: keep labels sane."""
    code = code.strip()[:100]
    return code if all(c.isalnum() or c in "._-" for c in code) and code else "invalid"
