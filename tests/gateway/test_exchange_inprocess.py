"""Exchanges through two real gateways in one process: SOAP and REST, EE -> FI and FI -> EE."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from lxml import etree

from gateway.soap import parse_soap
from gateway.soap_build import build_request, request_hash
from trust.identifiers import ServiceId

from ._world import BANK, POPULATION, TAX, VERO, build_world

NOW = dt.datetime.now(dt.timezone.utc)
VERO_NS = "http://vero.sandbox.sild.eu/producer"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build_world(tmp_path_factory.mktemp("world"), NOW)
    yield w
    w.close()


def _soap_call(world, client, service, body):
    gw = world.gateway_of(client)
    msg = build_request(client=client, service=service, query_id=str(uuid.uuid4()), body=body, user_id="EE12345678901")
    resp = httpx.post(gw.is_url + "/", content=msg, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=30)
    return msg, resp


def _tax_record_body(code):
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = code
    return body


def test_soap_cross_border(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    msg, resp = _soap_call(world, TAX, service, _tax_record_body("010190-123M"))
    assert resp.status_code == 200, resp.text
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.client == TAX and answer.header.service == service
    assert answer.header.request_hash.value == request_hash(msg)
    assert b"010190-123M" in resp.content


def test_rest_cross_border(world):
    gw = world.gateway_of(TAX)
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Road-Request-Hash"]
    assert resp.json()


def test_bank_denied(world):
    service = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")
    _, resp = _soap_call(world, BANK, service, _tax_record_body("010190-123M"))
    assert b"server.serverproxy.access_denied" in resp.content, resp.text


def test_zeep_client_from_served_wsdl(world):
    """zeep builds its client from the WSDL the EE gateway serves and calls FI through two gateways."""
    import zeep
    from zeep.transports import Transport

    gw = world.gateway_of(TAX)
    url = (gw.is_url + "/wsdl?xRoadInstance=FI&memberClass=GOV&memberCode=0245437-2&subsystemCode=vero"
           "&serviceCode=getTaxRecord&version=v1&client=EE/GOV/70000001/tax")
    client = zeep.Client(url, transport=Transport(timeout=30))
    query_id = str(uuid.uuid4())
    headers = {
        "client": {"xRoadInstance": "EE", "memberClass": "GOV", "memberCode": "70000001", "subsystemCode": "tax",
                   "objectType": "SUBSYSTEM"},
        "service": {"xRoadInstance": "FI", "memberClass": "GOV", "memberCode": "0245437-2", "subsystemCode": "vero",
                    "serviceCode": "getTaxRecord", "serviceVersion": "v1", "objectType": "SERVICE"},
        "id": query_id, "userId": "EE12345678901", "protocolVersion": "4.0",
    }
    with client.settings(raw_response=True):
        resp = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=headers)
    assert resp.status_code == 200, resp.text
    answer = parse_soap(resp.content, resp.headers["content-type"], role="response")
    assert answer.header.query_id == query_id
    assert answer.header.client == TAX
    assert answer.header.user_id == "EE12345678901"
    sent = resp.request.body
    assert answer.header.request_hash.value == request_hash(sent)
    result = client.service.getTaxRecord(personCode="010190-123M", _soapheaders=dict(headers, id=str(uuid.uuid4())))
    assert result.body.found is True and result.body.taxRecord.personCode == "010190-123M"
