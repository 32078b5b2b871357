"""Building X-Road SOAP 4.0 requests in tests (what a provider gateway would forward)."""

from __future__ import annotations

import uuid

from lxml import etree

from trust.protocol import id_to_xml, parse_client, parse_service

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XRD = "http://x-road.eu/xsd/xroad.xsd"
POPULATION_NS = "http://population.sandbox.sild.eu/producer"
VERO_NS = "http://vero.sandbox.sild.eu/producer"


def xroad_request(
    service: str,
    body: etree._Element,
    *,
    client: str = "FI/GOV/0245437-2/vero",
    user_id: str | None = "EE39001011237",
    issue: str | None = None,
    message_id: str | None = None,
) -> bytes:
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"SOAP-ENV": SOAP, "xrd": XRD})
    header = etree.SubElement(envelope, f"{{{SOAP}}}Header")
    id_to_xml(parse_client(client), f"{{{XRD}}}client", header)
    id_to_xml(parse_service(service), f"{{{XRD}}}service", header)
    etree.SubElement(header, f"{{{XRD}}}id").text = message_id or str(uuid.uuid4())
    if user_id:
        etree.SubElement(header, f"{{{XRD}}}userId").text = user_id
    if issue:
        etree.SubElement(header, f"{{{XRD}}}issue").text = issue
    etree.SubElement(header, f"{{{XRD}}}protocolVersion").text = "4.0"
    etree.SubElement(envelope, f"{{{SOAP}}}Body").append(body)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def get_person(code: str) -> etree._Element:
    el = etree.Element(f"{{{POPULATION_NS}}}getPerson", nsmap={"p": POPULATION_NS})
    etree.SubElement(el, f"{{{POPULATION_NS}}}personCode").text = code
    return el


def get_tax_record(code: str, year: int | None = None) -> etree._Element:
    el = etree.Element(f"{{{VERO_NS}}}getTaxRecord", nsmap={"v": VERO_NS})
    etree.SubElement(el, f"{{{VERO_NS}}}personCode").text = code
    if year is not None:
        etree.SubElement(el, f"{{{VERO_NS}}}year").text = str(year)
    return el


POPULATION_SERVICE = "EE/GOV/70000002/population/getPerson/v1"
VERO_SERVICE = "FI/GOV/0245437-2/vero/getTaxRecord/v1"


def body_payload(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{SOAP}}}Body")
    assert body is not None
    return next(child for child in body if isinstance(child.tag, str))


def fault_code(envelope: etree._Element) -> str | None:
    return envelope.findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/faultcode")
