"""The WSDL an adapter serves, and the schemas it imports.

The WSDL follows X-Road's own example (``xroad6.wsdl``): document/literal wrapped,
one ``requestHeader`` message whose parts are the X-Road header elements, every
header declared on input and output of every operation, ``xrd:version`` under
``binding/operation``, ``xrd:title``/``xrd:notes``/``xrd:techNotes`` under
``portType/operation/documentation``.

It is self-contained: the ``xroad.xsd`` it imports (and the ``identifiers.xsd`` and
``xml.xsd`` that imports) are sild's own, the one set ``trust.protocol`` ships and the
gateway serves too, and are served by the adapter at ``{base}/xsd/...``. Government networks often have no
internet, and a WSDL that points at ``http://x-road.eu/xsd/xroad.xsd`` makes zeep
and other tools fail there.
"""

from __future__ import annotations

from lxml import etree

from adapters.definition import AdapterDefinition
from ._schema import operation_elements
from trust.protocol import WSDL_NS, WSDL_SOAP_NS, XROAD_NS, XSD_NS, schema_for, schema_file

IDENTIFIERS_XSD = "identifiers.xsd"
XML_XSD = "xml.xsd"
XROAD_XSD = "xroad.xsd"
SCHEMA_FILES = (XROAD_XSD, IDENTIFIERS_XSD, XML_XSD)  # xroad.xsd and what it imports

_INPUT_HEADERS = ("client", "service", "id", "userId", "issue", "protocolVersion")
_OUTPUT_HEADERS = ("client", "service", "id", "userId", "requestHash", "issue", "protocolVersion")


def schema_bytes(name: str) -> bytes:
    """One of the schemas every adapter serves (:data:`SCHEMA_FILES`), as shipped."""
    if name not in SCHEMA_FILES:
        raise KeyError(name)
    return schema_file(name)


def _w(local: str) -> str:
    return f"{{{WSDL_NS}}}{local}"


def _s(local: str) -> str:
    return f"{{{WSDL_SOAP_NS}}}{local}"


def build_wsdl(definition: AdapterDefinition, base_url: str) -> bytes:
    """The WSDL of every operation of ``definition``, served from ``base_url``."""
    base_url = base_url.rstrip("/")
    tns = definition.namespace
    name = definition.name
    root = etree.Element(
        _w("definitions"),
        nsmap={"wsdl": WSDL_NS, "soap": WSDL_SOAP_NS, "xsd": XSD_NS, "xrd": XROAD_NS, "tns": tns},
        name=name,
        targetNamespace=tns,
    )
    if definition.title:
        etree.SubElement(root, _w("documentation")).text = definition.title
    types = etree.SubElement(root, _w("types"))
    schema = etree.SubElement(
        types, f"{{{XSD_NS}}}schema", targetNamespace=tns, elementFormDefault="qualified"
    )
    etree.SubElement(schema, f"{{{XSD_NS}}}import", namespace=XROAD_NS, schemaLocation=f"{base_url}/xsd/{XROAD_XSD}")
    for op in definition.operations:
        operation_elements(schema, op)

    header = etree.SubElement(root, _w("message"), name="requestHeader")
    for part in _OUTPUT_HEADERS:
        etree.SubElement(header, _w("part"), name=part, element=f"xrd:{part}")
    for op in definition.operations:
        for suffix in ("", "Response"):
            message = etree.SubElement(root, _w("message"), name=f"{op.name}{suffix}")
            etree.SubElement(message, _w("part"), name="body", element=f"tns:{op.name}{suffix}")

    port_type = etree.SubElement(root, _w("portType"), name=f"{name}PortType")
    for op in definition.operations:
        operation = etree.SubElement(port_type, _w("operation"), name=op.name)
        if op.title or op.notes or op.tech_notes:
            doc = etree.SubElement(operation, _w("documentation"))
            for tag, text in (("title", op.title), ("notes", op.notes), ("techNotes", op.tech_notes)):
                if text:
                    etree.SubElement(doc, f"{{{XROAD_NS}}}{tag}").text = text
        etree.SubElement(operation, _w("input"), message=f"tns:{op.name}")
        etree.SubElement(operation, _w("output"), message=f"tns:{op.name}Response")

    binding = etree.SubElement(root, _w("binding"), name=f"{name}Binding", type=f"tns:{name}PortType")
    etree.SubElement(binding, _s("binding"), style="document", transport="http://schemas.xmlsoap.org/soap/http")
    for op in definition.operations:
        operation = etree.SubElement(binding, _w("operation"), name=op.name)
        etree.SubElement(operation, _s("operation"), soapAction="", style="document")
        if op.version:
            etree.SubElement(operation, f"{{{XROAD_NS}}}version").text = op.version
        for direction, headers in (("input", _INPUT_HEADERS), ("output", _OUTPUT_HEADERS)):
            holder = etree.SubElement(operation, _w(direction))
            etree.SubElement(holder, _s("body"), use="literal")
            for part in headers:
                etree.SubElement(holder, _s("header"), message="tns:requestHeader", part=part, use="literal")

    service = etree.SubElement(root, _w("service"), name=f"{name}Service")
    port = etree.SubElement(service, _w("port"), binding=f"tns:{name}Binding", name=f"{name}ServicePort")
    etree.SubElement(port, _s("address"), location=f"{base_url}/soap")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def served_schema(name: str, base_url: str) -> bytes:
    """Schema ``name`` as served: its imports pointed at this adapter's own copies."""
    if name not in SCHEMA_FILES:
        raise KeyError(name)
    return schema_for(name, base_url, folder="xsd")

