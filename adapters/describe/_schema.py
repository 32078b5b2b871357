"""Declared message fields as XML Schema, and the JSON <-> XML conversion of the REST face.

An operation's request and response are declared as field lists in the adapter
definition. From that one declaration come the XSD inside the WSDL, the JSON Schema
inside the OpenAPI description, the check of every answer before it is signed (a
service never sends what its WSDL does not promise), and the conversion between a
REST call's JSON and the document/literal XML the rest of the adapter works on. One
source means the SOAP and REST faces cannot drift apart.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from adapters.definition import FieldSpec, Operation
from trust.protocol import XROAD_NS, XSD_NS, XSI_NS
from adapters.soap import client_fault, server_fault
from adapters.xmldsig import DS_NS


def _xs(local: str) -> str:
    return f"{{{XSD_NS}}}{local}"


def _element(parent: etree._Element, spec: FieldSpec, signed: set[str], with_titles: bool) -> None:
    attrs = {"name": spec.name}
    if spec.min_occurs != 1:
        attrs["minOccurs"] = str(spec.min_occurs)
    if spec.max_occurs != 1:
        attrs["maxOccurs"] = "unbounded" if spec.max_occurs is None else str(spec.max_occurs)
    if not spec.is_complex:
        attrs["type"] = f"xsd:{spec.type}"
    el = etree.SubElement(parent, _xs("element"), attrs)
    if spec.title and with_titles:
        appinfo = etree.SubElement(etree.SubElement(el, _xs("annotation")), _xs("appinfo"))
        etree.SubElement(appinfo, f"{{{XROAD_NS}}}title").text = spec.title
    if spec.is_complex:
        _complex(el, spec.fields, spec.name in signed, signed, with_titles, with_id=spec.name in signed)


def _complex(
    parent: etree._Element,
    fields: tuple[FieldSpec, ...],
    signature_slot: bool,
    signed: set[str],
    with_titles: bool,
    *,
    with_id: bool = False,
    detached_after: str | None = None,
) -> None:
    ctype = etree.SubElement(parent, _xs("complexType"))
    seq = etree.SubElement(ctype, _xs("sequence"))
    for spec in fields:
        _element(seq, spec, signed, with_titles)
        if spec.name == detached_after:  # a detached signature follows the element it signs
            etree.SubElement(seq, _xs("any"), namespace=DS_NS, processContents="skip", minOccurs="0")
    if signature_slot:
        etree.SubElement(seq, _xs("any"), namespace=DS_NS, processContents="skip", minOccurs="0")
    if with_id:
        etree.SubElement(ctype, _xs("attribute"), name="Id", type="xsd:ID")


def operation_elements(
    parent: etree._Element, op: Operation, *, with_titles: bool = True
) -> None:
    """Append ``<op>`` and ``<opResponse>`` element declarations to a schema element."""
    signed_request: set[str] = set()
    request_slot = op.require_signature is not None
    if request_slot:
        signed_request = {f.name for f in op.request_fields if f.is_complex}
    request = etree.SubElement(parent, _xs("element"), name=op.name)
    _complex(request, op.request_fields, request_slot, signed_request, with_titles, with_id=request_slot)
    signed = {op.sign.element} if op.sign else set()
    response = etree.SubElement(parent, _xs("element"), name=f"{op.name}Response")
    detached = op.sign is not None and op.sign.mode == "detached"
    _complex(response, op.response_fields, False, signed if not detached else set(), with_titles,
             detached_after=op.sign.element if detached and op.sign else None)
    if detached:
        # the detached signature references the element by Id, which the schema must allow
        _add_id(response, op.sign.element if op.sign else "")


def _add_id(response: etree._Element, name: str) -> None:
    for el in response.iter(_xs("element")):
        if el.get("name") == name:
            ctype = el.find(_xs("complexType"))
            if ctype is not None and ctype.find(_xs("attribute")) is None:
                etree.SubElement(ctype, _xs("attribute"), name="Id", type="xsd:ID")


def validation_schema(namespace: str, op: Operation) -> etree.XMLSchema:
    """A compiled schema of one operation's messages (no imports, nothing fetched)."""
    root = etree.Element(
        _xs("schema"),
        nsmap={"xsd": XSD_NS, "tns": namespace},
        targetNamespace=namespace,
        elementFormDefault="qualified",
    )
    operation_elements(root, op, with_titles=False)
    return etree.XMLSchema(root)


# the attributes the schemas above declare: ``Id`` on signed elements; XML Schema itself lets
# ``xsi:type``/``xsi:nil`` through anywhere; a signature's content is not validated ("skip")
_UNDECLARED_ATTRIBUTE = etree.XPath(
    "(descendant-or-self::*[not(ancestor-or-self::ds:Signature)]/@*"
    "[not(namespace-uri() = '' and local-name() = 'Id') and namespace-uri() != $xsi])[1]",
    namespaces={"ds": DS_NS},
)


def undeclared_attribute(element: etree._Element) -> str | None:
    """The first attribute in ``element`` that no operation schema declares, described; or ``None``.

    Checked before schema validation because libxml2 reports every undeclared attribute as
    an error of its own, about 1 KB each: 1 MB of attributes made 100,000 errors and over
    100 MB that each worker thread's allocator kept (issue 15.3). Refused here, such a
    message costs its parse and nothing more; what this lets through the schema still checks.
    """
    found: Any = _UNDECLARED_ATTRIBUTE(element, xsi=XSI_NS)
    if not found:
        return None
    attribute = found[0]
    owner = attribute.getparent()
    return (f"attribute {etree.QName(attribute.attrname).localname!r} of element "
            f"{etree.QName(owner).localname!r} is not declared")


# -- JSON <-> XML -----------------------------------------------------------------------


def _to_text(spec: FieldSpec, value: Any, where: str) -> str:
    if isinstance(value, (dict, list)):
        raise client_fault("invalid_request", f"{where} must be a single value")
    if spec.type == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        if str(value).lower() in ("true", "false", "1", "0"):
            return str(value).lower()
        raise client_fault("invalid_request", f"{where} must be true or false")
    if spec.type in ("int", "integer", "long"):
        try:
            return str(int(str(value)))
        except ValueError:
            raise client_fault("invalid_request", f"{where} must be an integer") from None
    if spec.type == "decimal":
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            raise client_fault("invalid_request", f"{where} must be a number") from None
    if value is None:
        raise client_fault("invalid_request", f"{where} must not be null")
    return str(value)


# characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with what XML cannot carry replaced by U+FFFD: for messages that echo input."""
    return _NOT_XML.sub("\ufffd", text)


def json_to_xml(namespace: str, tag: str, fields: tuple[FieldSpec, ...], data: dict[str, Any], where: str = "") -> etree._Element:
    """Build ``<tag>`` (in ``namespace``) with children in declared order from a JSON object."""
    element = etree.Element(f"{{{namespace}}}{tag}", nsmap={None: namespace})  # type: ignore[dict-item]
    _fill(element, namespace, fields, data, where)
    return element


def _fill(element: etree._Element, namespace: str, fields: tuple[FieldSpec, ...], data: dict[str, Any], where: str) -> None:
    known = {f.name for f in fields}
    for key in data:
        if key not in known:
            raise client_fault("invalid_request", f"unknown field {where}{key}")
    for spec in fields:
        name = f"{where}{spec.name}"
        value = data.get(spec.name)
        values = value if isinstance(value, list) else ([] if value is None else [value])
        if len(values) < spec.min_occurs:
            raise client_fault("invalid_request", f"field {name} is required")
        if spec.max_occurs is not None and len(values) > spec.max_occurs:
            raise client_fault("invalid_request", f"field {name} occurs more than {spec.max_occurs} times")
        for item in values:
            child = etree.SubElement(element, f"{{{namespace}}}{spec.name}")
            if spec.is_complex:
                if not isinstance(item, dict):
                    raise client_fault("invalid_request", f"field {name} must be an object")
                _fill(child, namespace, spec.fields, item, f"{name}.")
            else:
                text = _to_text(spec, item, f"field {name}")
                if _NOT_XML.search(text):  # lxml would refuse it (found by tests/fuzz)
                    raise client_fault("invalid_request", f"field {name} holds characters XML cannot carry")
                child.text = text


def _from_text(spec: FieldSpec, text: str | None) -> Any:
    text = text or ""
    if spec.type == "boolean":
        return text.strip() in ("true", "1")
    if spec.type in ("int", "integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise server_fault("mapping_failed", f"field {spec.name} is not an integer") from None
    if spec.type == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise server_fault("mapping_failed", f"field {spec.name} is not a number") from None
        return int(number) if number == number.to_integral_value() and "." not in text else float(number)
    return text


def xml_to_json(element: etree._Element, fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """The JSON object of an element, following the declared fields (signatures are left out)."""
    result: dict[str, Any] = {}
    children: dict[str, list[etree._Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            children.setdefault(etree.QName(child).localname, []).append(child)
    for spec in fields:
        found = children.get(spec.name, [])
        values = [xml_to_json(c, spec.fields) if spec.is_complex else _from_text(spec, c.text) for c in found]
        if spec.max_occurs == 1:
            if values:
                result[spec.name] = values[0]
        else:
            result[spec.name] = values
    return result


def json_schema(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3 flavour) of an object with these fields."""
    properties: dict[str, Any] = {}
    required = []
    for spec in fields:
        if spec.is_complex:
            item: dict[str, Any] = json_schema(spec.fields)
        else:
            item = dict(_JSON_TYPES[spec.type])
        if spec.title:
            item["description"] = spec.title
        if spec.max_occurs != 1:
            item = {"type": "array", "items": item}
            if spec.max_occurs is not None:
                item["maxItems"] = spec.max_occurs
        properties[spec.name] = item
        if spec.min_occurs > 0:
            required.append(spec.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


_JSON_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int32"},
    "integer": {"type": "integer"},
    "long": {"type": "integer", "format": "int64"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "dateTime": {"type": "string", "format": "date-time"},
}
