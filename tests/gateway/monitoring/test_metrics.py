"""Prometheus metrics: a registry per gateway, text exposition, bounded labels."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gateway.monitoring import GatewayMetrics


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_requests_failures_and_latency() -> None:
    m = GatewayMetrics()
    m.observe("client", "REST", 0.02)
    m.observe("client", "REST", 0.3, "server.clientproxy.network_error")
    m.observe("server", "WSDL", 0.004, "server.serverproxy.access_denied")
    got = samples(m)
    assert got[("sild_gateway_requests_total", (("service_type", "REST"), ("side", "client")))] == 2
    assert got[("sild_gateway_failures_total", (("code", "server.serverproxy.access_denied"), ("side", "server")))] == 1
    assert got[("sild_gateway_request_duration_seconds_bucket", (("le", "0.025"), ("service_type", "REST"), ("side", "client")))] == 1
    assert got[("sild_gateway_request_duration_seconds_count", (("service_type", "REST"), ("side", "client")))] == 2


def test_registries_are_separate_and_not_global() -> None:
    a, b = GatewayMetrics(), GatewayMetrics()
    a.observe("server", "REST", 0.1)
    assert ("sild_gateway_requests_total", (("service_type", "REST"), ("side", "server"))) not in samples(b)
    assert REGISTRY.get_sample_value("sild_gateway_requests_total", {"side": "server", "service_type": "REST"}) is None


def test_labels_stay_bounded() -> None:
    m = GatewayMetrics()
    m.observe("client", "SOMETHING", 0.1, "evil\ncode{}")
    got = samples(m)
    assert got[("sild_gateway_failures_total", (("code", "invalid"), ("side", "client")))] == 1
    assert got[("sild_gateway_requests_total", (("service_type", "OTHER"), ("side", "client")))] == 1


def test_overdue_gauge_asks_at_scrape_time() -> None:
    m = GatewayMetrics()
    state = {"overdue": False}
    m.bind_overdue(lambda: state["overdue"])
    assert samples(m)[("sild_gateway_messagelog_timestamping_overdue", ())] == 0
    state["overdue"] = True
    assert samples(m)[("sild_gateway_messagelog_timestamping_overdue", ())] == 1
