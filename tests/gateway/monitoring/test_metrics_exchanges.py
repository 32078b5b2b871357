"""``/metrics`` after real exchanges through a gateway pair: every figure the docs name moves.

The unit tests of :mod:`gateway.monitoring._metrics` set the figures themselves; this
one only runs exchanges (SOAP and REST, one refused), the timestamping job and a
scrape of the admin API over HTTP, so a figure that only tests set (issue 15.5) or
a name the operator guide promises but no code updates fails here.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from gateway.admin import create_app
from gateway.net import WsgiServer
from gateway.node import GatewayNode
from gateway.serverconf import create_api_key
from trust.protocol import ServiceId, build_request

from tests.gateway._world import TAX, VERO
from tests.gateway.monitoring.test_metrics_workers import Samples, parse

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "operator-guide.md"
SERVED: set[str] = set()  # the metric families /metrics described (with or without samples)
VERO_SOAP = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")


def _scrape(node: GatewayNode) -> Samples:
    """GET /metrics of the node's admin API, served on a loopback port with a viewer key."""
    _, key = create_api_key(node.serverconf, ["viewer"], "metrics test")
    server = WsgiServer(create_app(node), "127.0.0.1", 0, name="admin-test").start()
    try:
        response = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    SERVED.update(f.name for f in text_string_to_metric_families(response.text))
    return parse(response.content)


def _total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and all((k, v2) in ls for k, v2 in labels.items()))


def _soap(node: GatewayNode, client: object) -> httpx.Response:
    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    msg = build_request(client=client, service=VERO_SOAP, query_id=str(uuid.uuid4()), body=body)  # type: ignore[arg-type]
    return httpx.post(node.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)


def documented_metrics() -> list[str]:
    """The metric names of the operator guide's monitoring section (namespace ``sild_gateway``)."""
    text = GUIDE.read_text("utf-8")
    paragraph = text.split("Metrics (namespace `sild_gateway`):", 1)[1].split("\n\n", 1)[0]
    return ["sild_gateway_" + name for name in re.findall(r"`([a-z_]+)`", paragraph) if name not in ("client", "server")]


@pytest.fixture(scope="module")
def scraped(world) -> Iterator[tuple[Samples, Samples, Samples, Samples]]:  # type: ignore[no-untyped-def]
    consumer, provider = world.gateway_of(TAX), world.gateway_of(VERO)
    before = (_scrape(consumer), _scrape(provider))
    assert _soap(consumer, TAX).status_code == 200
    rest = httpx.get(consumer.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": "EE/GOV/70000001/tax"}, timeout=30)
    assert rest.status_code == 200, rest.text
    refused = _soap(consumer, TAX.member.subsystem("nobody"))  # not a client of this gateway
    assert refused.status_code == 500 and b"faultcode" in refused.content
    assert consumer.timestamp_now() >= 2 and provider.timestamp_now() >= 2
    yield before[0], before[1], _scrape(consumer), _scrape(provider)


def test_exchanges_move_the_request_log_and_timestamp_figures(scraped) -> None:  # type: ignore[no-untyped-def]
    c0, p0, c1, p1 = scraped
    assert _total(c1, "sild_gateway_requests_total", side="client") - _total(c0, "sild_gateway_requests_total", side="client") >= 3
    assert _total(p1, "sild_gateway_requests_total", side="server") - _total(p0, "sild_gateway_requests_total", side="server") >= 2
    assert _total(c1, "sild_gateway_requests_total", side="client", service_type="REST") > \
        _total(c0, "sild_gateway_requests_total", side="client", service_type="REST")
    assert _total(c1, "sild_gateway_failures_total", side="client") > _total(c0, "sild_gateway_failures_total", side="client")
    assert _total(c1, "sild_gateway_request_duration_seconds_count", side="client") >= 3
    # two records (request and answer) per answered exchange, on both sides
    for before, after in ((c0, c1), (p0, p1)):
        assert _total(after, "sild_gateway_messagelog_appends_total") - _total(before, "sild_gateway_messagelog_appends_total") >= 4
        assert _total(after, "sild_gateway_messagelog_timestamping_last_success_seconds") > 1.7e9
        assert _total(after, "sild_gateway_messagelog_timestamping_overdue") == 0


def test_every_metric_the_operator_guide_names_is_served(scraped) -> None:  # type: ignore[no-untyped-def]
    """Served, and moved by production code: above for exchanges and the log, in
    ``tests/gateway/conf/test_store.py`` for the configuration figures (a node with a
    configuration store of its own, which the world's nodes do not have)."""
    names = documented_metrics()
    assert "sild_gateway_messagelog_appends_total" in names and len(names) >= 6
    missing = [n for n in names if n not in SERVED and n.removesuffix("_total") not in SERVED]
    assert not missing, f"the operator guide names metrics /metrics does not serve: {missing}"
