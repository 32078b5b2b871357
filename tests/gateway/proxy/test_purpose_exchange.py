"""Purpose- and time-bound access (issue 20) through two real gateways: real mTLS, real signatures, real logs.

TAX (EE) calls VERO (FI) through its own gateway and VERO's; VERO's grants to TAX carry
terms for the length of this module. A granted purpose is answered and lands in both
gateways' message logs; a missing, other, expired or not yet valid one is the provider
gateway's ``server.serverproxy.access_denied`` naming what is wrong; an X-Road-style
request without any purpose still works where no grant asks for one.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Iterator

import httpx
import pytest
from lxml import etree

from gateway.serverconf import GrantTerms, make_terms
from trust.evidence._asic_message import read_identity
from trust.protocol import SILD_NS, ServiceId, build_request, parse_soap

from tests.gateway._world import TAX, VERO, World

pytestmark = [pytest.mark.timeout(300)]

VERO_NS = "http://vero.sandbox.sild.eu/producer"
TAX_RECORD = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
INCOME = "/r1/FI/GOV/0245437-2/vero/income/010190-123M"
FI_VERO = "FI/GOV/0245437-2/gw1"


def _regrant(world: World, terms: GrantTerms) -> None:
    """VERO's rights for TAX on getTaxRecord and income, now with ``terms``; waits until the gateway sees them."""
    conf = world.gateways[FI_VERO].serverconf
    for code in ("getTaxRecord", "income"):
        conf.revoke(VERO, code, TAX)
        conf.grant(VERO, code, TAX, terms=terms)
    counter = conf.counter()
    deadline = time.monotonic() + 10
    while conf.snapshot().counter != counter and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def gated(world: World) -> Iterator[World]:
    _regrant(world, make_terms(["tax-assessment", "audit"]))
    yield world
    _regrant(world, GrantTerms())


def _soap(world: World, purpose: str | None) -> tuple[str, httpx.Response]:
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    query_id = str(uuid.uuid4())
    msg = build_request(client=TAX, service=TAX_RECORD, query_id=query_id, body=body, user_id="EE12345678901",
                        purpose=purpose)
    resp = httpx.post(world.gateway_of(TAX).is_url + "/", content=msg,
                      headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60, trust_env=False)
    return query_id, resp


def _rest(world: World, purpose: str | None) -> tuple[str, httpx.Response]:
    query_id = str(uuid.uuid4())
    headers = {"X-Road-Client": TAX.to_text(), "X-Road-Id": query_id}
    if purpose is not None:
        headers["X-Sild-Purpose"] = purpose
    resp = httpx.get(world.gateway_of(TAX).is_url + INCOME, headers=headers, timeout=60, trust_env=False)
    return query_id, resp


def _soap_fault(resp: httpx.Response) -> tuple[str | None, str]:
    root = etree.fromstring(resp.content)
    return root.findtext(".//faultcode"), root.findtext(".//faultstring") or ""


def test_granted_purpose_is_answered_and_logged_on_both_sides(gated: World) -> None:
    query_id, resp = _soap(gated, "tax-assessment")
    assert resp.status_code == 200, resp.text
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.query_id == query_id
    for node in (gated.gateways[FI_VERO], gated.gateway_of(TAX)):
        records = node.messagelog.find(query_id)
        assert {(r.direction, r.purpose) for r in records} == {("request", "tax-assessment"),
                                                               ("response", "tax-assessment")}
    [provider_request] = gated.gateways[FI_VERO].messagelog.find(query_id, direction="request")
    # the purpose is part of the signed bytes the evidence container holds as message.xml
    assert f'<sild:purpose xmlns:sild="{SILD_NS}">tax-assessment</sild:purpose>'.encode() in provider_request.message
    assert read_identity(provider_request.message).purpose == "tax-assessment"


def test_granted_purpose_over_rest_is_answered_and_logged(gated: World) -> None:
    query_id, resp = _rest(gated, "audit")
    assert resp.status_code == 200, resp.text
    [request] = gated.gateways[FI_VERO].messagelog.find(query_id, direction="request")
    assert request.purpose == "audit" and b"\r\nX-Sild-Purpose:audit" in request.message
    assert read_identity(request.message).purpose == "audit"


@pytest.mark.parametrize("purpose, reason", [
    (None, "purpose required"), ("marketing", "purpose not granted: 'marketing'"),
])
def test_soap_without_or_with_another_purpose_is_refused(gated: World, purpose: str | None, reason: str) -> None:
    query_id, resp = _soap(gated, purpose)
    code, text = _soap_fault(resp)
    assert code == "server.serverproxy.access_denied", resp.text
    assert text.startswith(reason) and "tax-assessment, audit" in text
    # refused before anything is logged on the provider's side (as X-Road); the client's
    # gateway keeps its signed request alone, with what it declared
    assert gated.gateways[FI_VERO].messagelog.find(query_id) == []
    [request] = gated.gateway_of(TAX).messagelog.find(query_id)
    assert request.direction == "request" and request.purpose == purpose


@pytest.mark.parametrize("purpose, reason", [
    (None, "purpose required"), ("marketing", "purpose not granted: 'marketing'"),
])
def test_rest_without_or_with_another_purpose_is_refused(gated: World, purpose: str | None, reason: str) -> None:
    _, resp = _rest(gated, purpose)
    assert resp.headers["X-Road-Error"] == "server.serverproxy.access_denied", resp.text
    assert reason in resp.text


def test_malformed_purpose_is_refused_by_the_clients_own_gateway(gated: World) -> None:
    _, resp = _rest(gated, "two words")
    assert resp.headers["X-Road-Error"] == "client.invalid_request" and "declared purpose" in resp.text


@pytest.mark.parametrize("window, reason", [
    ({"valid_until": -60}, "grant expired"), ({"valid_from": 3600}, "grant not yet valid"),
])
def test_outside_the_window_is_refused_with_the_right_purpose(gated: World, window: dict[str, int], reason: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    bounds = {name: now + dt.timedelta(seconds=offset) for name, offset in window.items()}
    _regrant(gated, make_terms(["tax-assessment", "audit"], **bounds))
    try:
        _, soap = _soap(gated, "tax-assessment")
        code, text = _soap_fault(soap)
        assert code == "server.serverproxy.access_denied" and text.startswith(reason), soap.text
        _, rest = _rest(gated, "tax-assessment")
        assert rest.headers["X-Road-Error"] == "server.serverproxy.access_denied" and reason in rest.text
    finally:
        _regrant(gated, make_terms(["tax-assessment", "audit"]))


def test_window_that_holds_now_admits(gated: World) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    _regrant(gated, make_terms(["audit"], now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)))
    try:
        _, resp = _soap(gated, "audit")
        assert resp.status_code == 200, resp.text
    finally:
        _regrant(gated, make_terms(["tax-assessment", "audit"]))


def test_x_road_style_client_without_purpose_works_on_ungated_services(gated: World) -> None:
    # REST: DVV's residents carry X-Road's plain right
    resp = httpx.get(gated.gateway_of(TAX).is_url + "/r1/FI/GOV/0242431-1/dvv/residents/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=60, trust_env=False)
    assert "X-Road-Error" not in resp.headers, resp.text
    # SOAP: the plain right again on getTaxRecord; a purpose declared to an ungated service is fine too
    _regrant(gated, GrantTerms())
    try:
        for purpose in (None, "anything"):
            query_id, soap = _soap(gated, purpose)
            assert soap.status_code == 200, soap.text
            [request] = gated.gateways[FI_VERO].messagelog.find(query_id, direction="request", side="server")
            assert request.purpose == purpose
    finally:
        _regrant(gated, make_terms(["tax-assessment", "audit"]))
