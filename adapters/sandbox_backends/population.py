"""Sandbox: the Estonian population register as a legacy SOAP 1.1 RPC/encoded service.

Operation ``getPerson(isikukood)`` in namespace ``urn:ee:rahvastikuregister:legacy``,
answered in the RPC/encoded style of early-2000s toolkits: the person is a
``multiRef`` referenced by ``href``, its address another one. An unknown code gets
``<return xsi:nil="true"/>`` (a normal answer, not a fault); a request without a code
gets a SOAP ``Client`` fault, as such systems did.
"""

from __future__ import annotations

from lxml import etree

from trust.protocol import SOAP_ENCODING_NS as ENC, SOAP_ENV_NS as SOAP, XSD_NS as XSD, XSI_NS as XSI

from adapters.sandbox_backends._wsgi import Answer, xml_endpoint
from adapters.sandbox_backends.data import EE_PERSONS

NS = "urn:ee:rahvastikuregister:legacy"


def _envelope() -> tuple[etree._Element, etree._Element]:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "soapenc": ENC, "xsi": XSI, "xsd": XSD,
                                                      "rr": NS})
    return env, etree.SubElement(env, f"{{{SOAP}}}Body")


def _fault(code: str, text: str) -> bytes:
    env, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soapenv:{code}"
    etree.SubElement(fault, "faultstring").text = text
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _typed(parent: etree._Element, name: str, value: str) -> None:
    el = etree.SubElement(parent, name)
    el.set(f"{{{XSI}}}type", "xsd:string")
    el.text = value


def person_answer(code: str) -> bytes:
    env, body = _envelope()
    response = etree.SubElement(body, f"{{{NS}}}getPersonResponse")
    response.set(f"{{{SOAP}}}encodingStyle", ENC)
    ret = etree.SubElement(response, "return")
    person = EE_PERSONS.get(code)
    if person is None:
        ret.set(f"{{{XSI}}}nil", "true")
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    ret.set("href", "#id0")
    ref = etree.SubElement(body, "multiRef", id="id0")
    ref.set(f"{{{ENC}}}root", "0")
    ref.set(f"{{{XSI}}}type", "rr:Isik")
    for key in ("isikukood", "eesnimi", "perenimi", "synniaeg", "sugu", "kodakondsus"):
        _typed(ref, key, person[key])
    etree.SubElement(ref, "elukoht", href="#id1")
    address = etree.SubElement(body, "multiRef", id="id1")
    address.set(f"{{{ENC}}}root", "0")
    address.set(f"{{{XSI}}}type", "rr:Aadress")
    for key, value in person["elukoht"].items():
        _typed(address, key, value)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _answer(envelope: etree._Element) -> Answer:
    call = envelope.find(f"{{{SOAP}}}Body/{{{NS}}}getPerson")
    if call is None:
        return "500 Internal Server Error", _fault("Client", "unknown operation")
    code = (call.findtext("isikukood") or "").strip()
    if not code:
        return "500 Internal Server Error", _fault("Client", "isikukood puudub")
    return "200 OK", person_answer(code)


app = xml_endpoint(banner=b"rahvastikuregister legacy SOAP endpoint\n", content_type="text/xml; charset=utf-8",
                   what="SOAP request", malformed=("500 Internal Server Error", _fault("Client", "malformed request")),
                   answer=_answer)
"""The WSGI app of the legacy population register."""
