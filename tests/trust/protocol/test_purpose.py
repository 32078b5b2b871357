"""The declared purpose on the wire (issue 20): read from a SOAP header element or a REST
header, refused when malformed or doubled, absent when an X-Road peer sends none."""

from __future__ import annotations

import pytest

from trust.protocol import (
    H_PURPOSE, SILD_NS, ServiceId, XRoadFault, check_purpose, parse_soap, read_header, rest_purpose,
    soap_purpose,
)


def _soap(extra_header: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
 <SOAP-ENV:Header>
  <xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance>
   <id:memberClass>GOV</id:memberClass><id:memberCode>1</id:memberCode>
   <id:subsystemCode>c</id:subsystemCode></xrd:client>
  <xrd:service id:objectType="SERVICE"><id:xRoadInstance>EE</id:xRoadInstance>
   <id:memberClass>GOV</id:memberClass><id:memberCode>2</id:memberCode>
   <id:subsystemCode>p</id:subsystemCode><id:serviceCode>s</id:serviceCode></xrd:service>
  <xrd:id>q1</xrd:id><xrd:protocolVersion>4.0</xrd:protocolVersion>{extra_header}
 </SOAP-ENV:Header>
 <SOAP-ENV:Body><s xmlns="urn:t"/></SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()


def _purpose_el(code: str) -> str:
    return f'<sild:purpose xmlns:sild="{SILD_NS}">{code}</sild:purpose>'


def test_soap_purpose_is_read_from_sild_namespace_and_the_xroad_header_still_reads() -> None:
    msg = parse_soap(_soap(_purpose_el(" tax-assessment ")), "text/xml; charset=utf-8", role="request")
    assert soap_purpose(msg.envelope) == "tax-assessment"
    assert msg.header.query_id == "q1"  # the X-Road reader skips the foreign element


def test_soap_without_purpose_declares_none() -> None:
    msg = parse_soap(_soap(), "text/xml; charset=utf-8", role="request")
    assert soap_purpose(msg.envelope) is None


def test_purpose_in_another_namespace_is_not_a_declaration() -> None:
    msg = parse_soap(_soap('<o:purpose xmlns:o="urn:other">x</o:purpose>'), "text/xml", role="request")
    assert soap_purpose(msg.envelope) is None


def test_two_soap_purposes_are_invalid_request() -> None:
    msg = parse_soap(_soap(_purpose_el("a") + _purpose_el("b")), "text/xml", role="request")
    with pytest.raises(XRoadFault) as got:
        soap_purpose(msg.envelope)
    assert got.value.code == "invalid_request"
    assert "more than one" in str(got.value)


@pytest.mark.parametrize("bad", ["", "-x", "has space", "x" * 65, "é", "a/b"])
def test_malformed_purpose_is_invalid_request(bad: str) -> None:
    with pytest.raises(XRoadFault) as got:
        rest_purpose([(H_PURPOSE, bad)])
    assert got.value.code == "invalid_request"
    assert "declared purpose" in str(got.value)
    with pytest.raises(ValueError):
        check_purpose(bad)


def test_rest_purpose_header_any_case() -> None:
    assert rest_purpose([("x-sild-purpose", "tax:2026")]) == "tax:2026"
    assert rest_purpose([("X-Road-Client", "EE/GOV/1/c")]) is None
    with pytest.raises(XRoadFault):
        rest_purpose([(H_PURPOSE, "a"), ("x-sild-purpose", "b")])


def test_longest_code_passes() -> None:
    assert check_purpose("a" * 64) == "a" * 64


def test_read_header_ignores_purpose_element() -> None:
    from lxml import etree
    env = etree.fromstring(_soap(_purpose_el("tax")))
    header = read_header(env[0])
    assert header.service == ServiceId("EE", "GOV", "2", "p", "s")
    assert header.client.to_text() == "EE/GOV/1/c"


def test_build_request_writes_the_purpose_element_the_reader_finds() -> None:
    from lxml import etree

    from trust.protocol import SubsystemId, build_request

    raw = build_request(client=SubsystemId("EE", "GOV", "1", "c"), service=ServiceId("EE", "GOV", "2", "p", "s"), query_id="q",
                        body=etree.Element("{urn:t}s"), purpose="tax-assessment")
    assert f'<sild:purpose xmlns:sild="{SILD_NS}">tax-assessment</sild:purpose>'.encode() in raw
    msg = parse_soap(raw, "text/xml; charset=utf-8", role="request")
    assert soap_purpose(msg.envelope) == "tax-assessment"


def _with_purpose(data: bytes, code: str) -> bytes | None:
    """``data`` with a ``sild:purpose`` element added at the end of its SOAP Header (``None``
    when it has no such Header), every other byte untouched."""
    import re

    close = re.search(rb"</([A-Za-z_][\w.-]*:)?Header>", data)
    if close is None:
        return None
    element = f'<sild:purpose xmlns:sild="{SILD_NS}">{code}</sild:purpose>'.encode()
    return data[:close.start()] + element + data[close.start():]


def test_x_road_request_vectors_read_the_same_with_a_purpose(xroad) -> None:
    """Every request vector of X-Road's manifest that sild reads as a request still reads,
    to the same header, with sild's purpose element added: sild's parser tolerates it
    wherever X-Road's messages put their headers (plain, SwA, MTOM, RPC, represented party)."""
    import json

    from trust.protocol import SoapMessage
    from tests.support.soap_scenarios import MANIFEST_PATH, SCENARIOS, case_key, default_type

    checked = 0
    for case in json.loads(MANIFEST_PATH.read_text("utf-8"))["cases"]:
        scenario = SCENARIOS.get(case_key(case))
        path = xroad / "soap" / "queries" / case["file"]
        if scenario is None or not case["file"].endswith(".query") or not path.exists():
            continue
        data = path.read_bytes()
        ctype = scenario.request_type or default_type(data)
        try:
            plain = parse_soap(data, ctype, role="request")
        except XRoadFault:
            continue  # a vector sild refuses anyway: nothing to compare
        variant = _with_purpose(data, "tax-assessment")
        if not isinstance(plain, SoapMessage) or variant is None:
            continue
        declared = parse_soap(variant, ctype, role="request")
        assert isinstance(declared, SoapMessage), case["file"]
        assert declared.header == plain.header, case["file"]
        assert declared.body_name == plain.body_name and len(declared.attachments) == len(plain.attachments)
        assert soap_purpose(declared.envelope) == "tax-assessment", case["file"]
        checked += 1
    assert checked >= 10  # the manifest has many readable requests; a broken loop would check none
