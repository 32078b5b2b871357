"""X-Road identifiers as XML: one element per identifier, in the identifiers namespace.

Kept apart from the value types (:mod:`._identifiers`) because only the SOAP header
and the signed documents need XML; the REST and text paths never load lxml for
identifiers. The element is ``<tag id:objectType="...">`` with qualified children
in the schema's order (``xRoadInstance``, ``memberClass``, ...). Reading is
lenient where X-Road's peers are (an unqualified ``objectType``, white space
around values) and strict otherwise: unknown, duplicate, missing or extra children
are refused with :class:`IdentifierError`.
"""

from __future__ import annotations

import functools
from typing import Callable

from lxml import etree

from trust.errors import IdentifierError

from ._identifiers import (
    AnyId, ClientId, GlobalGroupId, LocalGroupId, MemberId, ObjectType, SecurityServerId, ServiceId, SubsystemId,
)
from ._namespaces import IDENTIFIERS_NS

_OBJECT_TYPE = f"{{{IDENTIFIERS_NS}}}objectType"

_FIELD_ORDER = (
    ("xRoadInstance", "instance"),
    ("memberClass", "member_class"),
    ("memberCode", "member_code"),
    ("subsystemCode", "subsystem_code"),
    ("groupCode", "group_code"),
    ("serviceCode", "service_code"),
    ("serviceVersion", "service_version"),
    ("serverCode", "server_code"),
)
_ATTR_BY_ELEMENT = dict(_FIELD_ORDER)


def id_to_xml(identifier: AnyId, tag: str, parent: etree._Element | None = None) -> etree._Element:
    """Build ``<tag id:objectType=...>`` with qualified children in the schema's order."""
    nsmap = {"id": IDENTIFIERS_NS}
    if parent is None:
        element = etree.Element(tag, nsmap=nsmap)
    else:
        element = etree.SubElement(parent, tag, nsmap=nsmap)
    element.set(_OBJECT_TYPE, identifier.object_type.value)
    for element_name, attr in _FIELD_ORDER:
        value = getattr(identifier, attr, None)
        if value is not None:
            child = etree.SubElement(element, f"{{{IDENTIFIERS_NS}}}{element_name}")
            child.text = value
    return element


def id_from_xml(element: etree._Element) -> AnyId:
    """Read an identifier element (lenient: unqualified attribute, surrounding white space)."""
    raw_type = element.get(_OBJECT_TYPE) or element.get("objectType")
    if raw_type is None:
        raise IdentifierError(f"identifier element <{etree.QName(element).localname}> has no objectType")
    fields: list[tuple[str | None, str, str]] = []
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions
        if tag[:1] == "{":
            namespace, _, local = tag[1:].partition("}")
            fields.append((namespace, local, child.text or ""))
        else:
            fields.append((None, tag, child.text or ""))
    return _id_from_fields(raw_type, tuple(fields))


@functools.lru_cache(maxsize=1024)
def _id_from_fields(raw_type: str, fields: tuple[tuple[str | None, str, str], ...]) -> AnyId:
    """The identifier for an element's objectType and (namespace, name, text) children.

    Cached: every SOAP header carries the same few clients and services, identifiers
    are immutable, and checking and building one costs more than parsing its XML. A
    refused identifier raises, and exceptions are never cached."""
    try:
        object_type = ObjectType(raw_type.strip())
    except ValueError:
        raise IdentifierError(f"unknown identifier objectType {raw_type!r}") from None
    values: dict[str, str] = {}
    for namespace, local, text in fields:
        attr = _ATTR_BY_ELEMENT.get(local)
        if attr is None or namespace not in (IDENTIFIERS_NS, None):
            raise IdentifierError(f"unexpected element <{local}> in a {object_type.value} identifier")
        if attr in values:
            raise IdentifierError(f"duplicate <{local}> in a {object_type.value} identifier")
        values[attr] = text.strip()
    allowed = _ALLOWED_FIELDS[object_type]
    extra = set(values) - allowed
    if extra:
        raise IdentifierError(f"{object_type.value} identifier must not have {sorted(extra)}")
    try:
        return _CONSTRUCTORS[object_type](**values)
    except (TypeError, KeyError):
        missing = sorted(_REQUIRED_FIELDS[object_type] - set(values))
        raise IdentifierError(f"{object_type.value} identifier lacks {missing}") from None


def client_from_xml(element: etree._Element) -> ClientId:
    identifier = id_from_xml(element)
    if not isinstance(identifier, (MemberId, SubsystemId)):
        raise IdentifierError(f"expected a MEMBER or SUBSYSTEM identifier, got {identifier.object_type.value}")
    return identifier


def service_from_xml(element: etree._Element) -> ServiceId:
    identifier = id_from_xml(element)
    if not isinstance(identifier, ServiceId):
        raise IdentifierError(f"expected a SERVICE identifier, got {identifier.object_type.value}")
    return identifier


def server_from_xml(element: etree._Element) -> SecurityServerId:
    identifier = id_from_xml(element)
    if not isinstance(identifier, SecurityServerId):
        raise IdentifierError(f"expected a SERVER identifier, got {identifier.object_type.value}")
    return identifier


def _service(**kw: str) -> ServiceId:
    return ServiceId(
        instance=kw["instance"],
        member_class=kw["member_class"],
        member_code=kw["member_code"],
        subsystem_code=kw.get("subsystem_code"),
        service_code=kw["service_code"],
        service_version=kw.get("service_version"),
    )


_CONSTRUCTORS: dict[ObjectType, Callable[..., AnyId]] = {
    ObjectType.MEMBER: MemberId,
    ObjectType.SUBSYSTEM: SubsystemId,
    ObjectType.SERVICE: _service,
    ObjectType.SERVER: SecurityServerId,
    ObjectType.GLOBALGROUP: GlobalGroupId,
    ObjectType.LOCALGROUP: LocalGroupId,
}
_ALLOWED_FIELDS = {
    ObjectType.MEMBER: {"instance", "member_class", "member_code"},
    ObjectType.SUBSYSTEM: {"instance", "member_class", "member_code", "subsystem_code"},
    ObjectType.SERVICE: {"instance", "member_class", "member_code", "subsystem_code", "service_code", "service_version"},
    ObjectType.SERVER: {"instance", "member_class", "member_code", "server_code"},
    ObjectType.GLOBALGROUP: {"instance", "group_code"},
    ObjectType.LOCALGROUP: {"group_code"},
}
_REQUIRED_FIELDS = {
    ObjectType.MEMBER: {"instance", "member_class", "member_code"},
    ObjectType.SUBSYSTEM: {"instance", "member_class", "member_code", "subsystem_code"},
    ObjectType.SERVICE: {"instance", "member_class", "member_code", "service_code"},
    ObjectType.SERVER: {"instance", "member_class", "member_code", "server_code"},
    ObjectType.GLOBALGROUP: {"instance", "group_code"},
    ObjectType.LOCALGROUP: {"group_code"},
}
