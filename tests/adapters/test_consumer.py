"""The consumer-side adapter: a legacy client without X-Road headers reaches an X-Road service.

The consumer adapter posts to a "gateway" URL; here that is the sandbox population
adapter itself, which speaks the same SOAP 4.0 a provider gateway forwards, so the
whole chain legacy client -> consumer adapter -> provider adapter -> legacy backend
runs over real HTTP. (The variant through two real gateways is the gateway package's.)
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import yaml
from lxml import etree

from adapters.definition import load_definition
from adapters.http_app import create_app
from adapters.serving import WsgiServer

LEGACY = "urn:legacy:client"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XRD = "http://x-road.eu/xsd/xroad.xsd"

REQUEST_XSL = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:l="urn:legacy:client" xmlns:p="http://population.sandbox.sild.eu/producer" exclude-result-prefixes="l">
  <xsl:template match="/l:findPerson">
    <p:getPerson><p:personCode><xsl:value-of select="l:code"/></p:personCode></p:getPerson>
  </xsl:template>
</xsl:stylesheet>
"""

RESPONSE_XSL = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:l="urn:legacy:client" xmlns:p="http://population.sandbox.sild.eu/producer" exclude-result-prefixes="p">
  <xsl:param name="userId"/>
  <xsl:template match="/p:getPersonResponse">
    <l:findPersonResult>
      <l:name><xsl:value-of select="concat(p:person/p:givenName, ' ', p:person/p:familyName)"/></l:name>
      <l:askedBy><xsl:value-of select="$userId"/></l:askedBy>
    </l:findPersonResult>
  </xsl:template>
</xsl:stylesheet>
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def consumer_url(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("consumer")
    (tmp / "request.xsl").write_text(REQUEST_XSL)
    (tmp / "response.xsl").write_text(RESPONSE_XSL)
    gateway = {"url": f"{sandbox['population']}/soap", "timeout": 10}
    common = {
        "client": "FI/GOV/0245437-2/vero",
        "service": "EE/GOV/70000002/population/getPerson/v1",
        "request": {"xslt": "request.xsl"},
        "response": {"xslt": "response.xsl"},
        "gateway": gateway,
    }
    consumers = [
        {"name": "soap-header-user", "path": "/legacy/soap", "protocol": "soap11",
         "user_id": {"source": "header", "value": "X-Legacy-User"}, **common},
        {"name": "xml-xpath-user", "path": "/legacy/xml", "protocol": "xml",
         "user_id": {"source": "xpath", "value": "string(/l:findPerson/@operator)", "namespaces": {"l": LEGACY}},
         **common},
        {"name": "soap12-fixed-user", "path": "/legacy/soap12", "protocol": "soap12", "keep_headers": True,
         "issue": "batch-2026", "user_id": {"source": "fixed", "value": "FIsystem"}, **common},
        {"name": "wrong-service", "path": "/legacy/wrong", "protocol": "soap11",
         **{**common, "service": "EE/GOV/70000002/population/getPets/v1"}},
        {"name": "no-gateway", "path": "/legacy/down", "protocol": "xml",
         **{**common, "gateway": {"url": f"http://127.0.0.1:{_closed_port()}/", "timeout": 2}}},
    ]
    path = tmp / "consumer.yaml"
    path.write_text(yaml.safe_dump({"adapter": {"name": "legacy-clients"}, "consumers": consumers}, sort_keys=False))
    app = create_app(load_definition(path))
    try:
        with WsgiServer(app) as server:
            yield server.url
    finally:
        app.extensions["sild.adapter"].close()


def _find_person(code: str, **attrs: str) -> etree._Element:
    el = etree.Element(f"{{{LEGACY}}}findPerson", nsmap={"l": LEGACY}, **attrs)
    etree.SubElement(el, f"{{{LEGACY}}}code").text = code
    return el


def _soap(ns: str, payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"s": ns})
    etree.SubElement(env, f"{{{ns}}}Body").append(payload)
    return etree.tostring(env)


def test_legacy_soap_client_gets_the_record_with_user_from_header(consumer_url: str) -> None:
    response = httpx.post(f"{consumer_url}/legacy/soap", content=_soap(SOAP11, _find_person("49001011238")),
                          headers={"Content-Type": "text/xml", "X-Legacy-User": "EE47101010033"})
    assert response.status_code == 200, response.text
    envelope = etree.fromstring(response.content)
    assert envelope.find(f"{{{SOAP11}}}Header") is None  # X-Road headers stripped
    result = envelope.find(f"{{{SOAP11}}}Body/{{{LEGACY}}}findPersonResult")
    assert result is not None
    assert result.findtext(f"{{{LEGACY}}}name") == "Mari Maasikas"
    assert result.findtext(f"{{{LEGACY}}}askedBy") == "EE47101010033"


def test_legacy_xml_client_with_user_from_xpath(consumer_url: str) -> None:
    payload = etree.tostring(_find_person("39001011237", operator="EE38001085718"))
    response = httpx.post(f"{consumer_url}/legacy/xml", content=payload, headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    result = etree.fromstring(response.content)
    assert result.tag == f"{{{LEGACY}}}findPersonResult"
    assert result.findtext(f"{{{LEGACY}}}name") == "Matti Meikäläinen"
    assert result.findtext(f"{{{LEGACY}}}askedBy") == "EE38001085718"


def test_soap12_client_keeps_the_xroad_headers(consumer_url: str) -> None:
    ids = set()
    for _ in range(2):
        response = httpx.post(f"{consumer_url}/legacy/soap12", content=_soap(SOAP12, _find_person("39001011237")),
                              headers={"Content-Type": "application/soap+xml"})
        assert response.status_code == 200, response.text
        envelope = etree.fromstring(response.content)
        header = envelope.find(f"{{{SOAP12}}}Header")
        assert header is not None
        assert header.findtext(f"{{{XRD}}}userId") == "FIsystem"
        assert header.findtext(f"{{{XRD}}}issue") == "batch-2026"
        assert header.findtext(f"{{{XRD}}}protocolVersion") == "4.0"
        client = header.find(f"{{{XRD}}}client")
        assert client is not None and client.findtext("{http://x-road.eu/xsd/identifiers}subsystemCode") == "vero"
        ids.add(header.findtext(f"{{{XRD}}}id"))
    assert len(ids) == 2  # a fresh id per call


def test_missing_user_header_is_a_client_fault(consumer_url: str) -> None:
    response = httpx.post(f"{consumer_url}/legacy/soap", content=_soap(SOAP11, _find_person("49001011238")))
    assert response.status_code == 400
    assert etree.fromstring(response.content).findtext(f".//{{{SOAP11}}}Fault/faultcode") == "client.adapter.missing_user_id"


def test_exchange_faults_reach_the_legacy_client_in_its_own_protocol(consumer_url: str) -> None:
    response = httpx.post(f"{consumer_url}/legacy/wrong", content=_soap(SOAP11, _find_person("49001011238")))
    assert response.status_code == 400
    assert etree.fromstring(response.content).findtext(f".//{{{SOAP11}}}Fault/faultcode") == "client.adapter.unknown_service"

    response = httpx.post(f"{consumer_url}/legacy/down", content=etree.tostring(_find_person("49001011238")))
    assert response.status_code == 500
    error = etree.fromstring(response.content)
    assert error.tag == "error" and error.findtext("type") == "server.adapter.gateway_unreachable"
