"""The client proxy's edge: bad IS input gets a specific client.* code; helpers it serves."""

from __future__ import annotations


import httpx
import pytest
from lxml import etree

from tests.gateway._world import TAX

@pytest.fixture(scope="module")
def gw(world):
    return world.gateway_of(TAX)


def _fault(resp):
    return etree.fromstring(resp.content).findtext(".//faultcode")


def test_soap_input_errors(gw):
    put = httpx.put(gw.is_url + "/", content=b"<x/>", timeout=10)
    assert _fault(put) == "client.invalid_http_method"
    not_xml = httpx.post(gw.is_url + "/", content=b"<broken", headers={"Content-Type": "text/xml"}, timeout=10)
    assert not_xml.status_code == 500 and _fault(not_xml).startswith("client.")
    wrong_type = httpx.post(gw.is_url + "/", content=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    assert _fault(wrong_type) == "client.invalid_content_type"
    no_header = httpx.post(gw.is_url + "/", headers={"Content-Type": "text/xml"}, timeout=10, content=(
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/></s:Body></s:Envelope>'))
    assert _fault(no_header).startswith("client.")


def test_rest_input_errors(gw):
    short = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2", headers={"X-Road-Client": TAX.to_text()}, timeout=10)
    assert short.status_code == 400 and short.headers["X-Road-Error"] == "client.invalid_request"
    no_client = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income", timeout=10)
    assert no_client.status_code == 400 and no_client.headers["X-Road-Error"] == "client.missing_header"
    bad_client = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income", headers={"X-Road-Client": "EE"},
                           timeout=10)
    assert bad_client.headers["X-Road-Error"] == "client.invalid_request"
    as_xml = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2", headers={"Accept": "application/xml"}, timeout=10)
    assert etree.fromstring(as_xml.content).findtext("type") == "client.invalid_request"


def test_http_proxy_style_absolute_target(gw):
    with httpx.Client(proxy=gw.is_url, timeout=30) as client:
        resp = client.get("http://gateway.invalid/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                          headers={"X-Road-Client": TAX.to_text()})
    assert resp.status_code == 200, resp.text
    assert resp.json()["taxRecord"]["personCode"] == "010190-123M"


def test_list_clients_formats(gw):
    xml = httpx.get(gw.is_url + "/listClients", timeout=10)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/xml")
    codes = {e.text for e in etree.fromstring(xml.content).iter("{http://x-road.eu/xsd/identifiers}memberCode")}
    assert {"70000001", "70000002", "10000003"} <= codes
    js = httpx.get(gw.is_url + "/listClients?xRoadInstance=FI", headers={"Accept": "application/json"}, timeout=10)
    subs = {m["id"].get("subsystem_code") for m in js.json()["member"]}
    assert {"vero", "dvv"} <= subs
    unknown = httpx.get(gw.is_url + "/listClients?xRoadInstance=LV", timeout=10)
    assert unknown.status_code == 400 and _fault(unknown) == "client.invalid_request"


def test_schemas_for_offline_wsdls(gw):
    xsd = httpx.get(gw.is_url + "/schemas/xroad.xsd", timeout=10)
    assert xsd.status_code == 200 and b"http://x-road.eu/xsd/xroad.xsd" in xsd.content
    assert httpx.get(gw.is_url + "/schemas/passwd", timeout=10).status_code == 404
