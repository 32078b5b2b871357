"""Metaservice message formats (NOTES 4); what a gateway answers is decided elsewhere.

* ``GET /listClients``: XML ``xrd:clientList`` (default) or snake_case JSON.
* SOAP ``listMethods`` / ``allowedMethods``: request with an empty ``<xrd:listMethods/>``
  body; response ``<xrd:listMethodsResponse>`` with ``<xrd:service id:objectType="SERVICE">``.
* SOAP ``getWsdl``: ``<xrd:getWsdl><xrd:serviceCode/><xrd:serviceVersion?/>``; the response
  is ``multipart/related``: the SOAP ``getWsdlResponse`` then the WSDL as a ``text/xml``
  attachment with ``Content-ID: <wsdl=UUID@x-road.eu>``.
* REST ``listMethods`` / ``allowedMethods``: snake_case JSON, nulls omitted (X-Road's
  code, not PR-MREST Annex A's camelCase).

Everything is a pure function over identifiers and bytes; the proxies call them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from lxml import etree

from trust.protocol import (
    ClientId, IDENTIFIERS_NS, INVALID_MESSAGE, INVALID_REQUEST, MemberId, SOAP_ENV_NS, ServiceId,
    SoapMessage, SubsystemId, XROAD_NS, XRoadFault, build_request, build_response, client_from_xml,
    id_to_xml, multipart_related, service_from_xml,
)
from trust.errors import IdentifierError
from trust.infra import parse_xml

LIST_METHODS = "listMethods"
ALLOWED_METHODS = "allowedMethods"
GET_WSDL = "getWsdl"
GET_OPENAPI = "getOpenAPI"
LIST_CLIENTS = "listClients"
SOAP_METASERVICES = frozenset({LIST_METHODS, ALLOWED_METHODS, GET_WSDL})
REST_METASERVICES = frozenset({LIST_METHODS, ALLOWED_METHODS, GET_OPENAPI})
SERVICE_TYPES = ("WSDL", "REST", "OPENAPI")


def _x(local: str) -> str:
    return f"{{{XROAD_NS}}}{local}"


def _tostring(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


# -- listClients --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientEntry:
    id: ClientId
    name: str
    subsystem_name: str | None = None


def list_clients_xml(entries: Iterable[ClientEntry]) -> bytes:
    root = etree.Element(_x("clientList"), nsmap={"xrd": XROAD_NS, "id": IDENTIFIERS_NS})
    for entry in entries:
        member = etree.SubElement(root, _x("member"))
        id_to_xml(entry.id, _x("id"), member)
        etree.SubElement(member, _x("name")).text = entry.name
        if entry.subsystem_name is not None:
            etree.SubElement(member, _x("subsystemName")).text = entry.subsystem_name
    return _tostring(root)


def _client_json(client: ClientId) -> dict[str, str]:
    out = {
        "object_type": client.object_type.value,
        "xroad_instance": client.instance,
        "member_class": client.member_class,
        "member_code": client.member_code,
    }
    if isinstance(client, SubsystemId):
        out["subsystem_code"] = client.subsystem_code
    return out


def list_clients_json(entries: Iterable[ClientEntry]) -> bytes:
    members = []
    for entry in entries:
        item: dict[str, Any] = {"id": _client_json(entry.id), "name": entry.name}
        if entry.subsystem_name is not None:
            item["subsystem_name"] = entry.subsystem_name
        members.append(item)
    return json.dumps({"member": members}, ensure_ascii=False).encode("utf-8")


def parse_list_clients_xml(data: bytes) -> list[ClientEntry]:
    root = parse_xml(data, what="client list")
    if root.tag != _x("clientList"):
        raise XRoadFault(INVALID_MESSAGE, "not an xrd:clientList document")
    entries = []
    try:
        for member in root.findall(_x("member")):
            id_el = member.find(_x("id"))
            if id_el is None:
                raise XRoadFault(INVALID_MESSAGE, "client list member has no id")
            entries.append(
                ClientEntry(client_from_xml(id_el), member.findtext(_x("name")) or "", member.findtext(_x("subsystemName")))
            )
    except IdentifierError as exc:
        raise XRoadFault(INVALID_MESSAGE, f"client list has a malformed identifier: {exc}") from None
    return entries


def parse_list_clients_json(data: bytes) -> list[ClientEntry]:
    document = json.loads(data)
    entries = []
    for item in document.get("member", []):
        i = item["id"]
        client: ClientId
        if i.get("subsystem_code"):
            client = SubsystemId(i["xroad_instance"], i["member_class"], i["member_code"], i["subsystem_code"])
        else:
            client = MemberId(i["xroad_instance"], i["member_class"], i["member_code"])
        entries.append(ClientEntry(client, item.get("name", ""), item.get("subsystem_name")))
    return entries


# -- SOAP listMethods / allowedMethods ------------------------------------------------------


def list_methods_request(
    client: ClientId, provider: ClientId, *, query_id: str, allowed: bool = False, user_id: str | None = None
) -> bytes:
    """A SOAP ``listMethods`` (or ``allowedMethods``) request to ``provider``."""
    name = ALLOWED_METHODS if allowed else LIST_METHODS
    service = _service_of(provider, name)
    return build_request(client=client, service=service, query_id=query_id, body=etree.Element(_x(name)), user_id=user_id)


def _service_of(provider: ClientId, code: str) -> ServiceId:
    return ServiceId(
        provider.instance,
        provider.member_class,
        provider.member_code,
        provider.subsystem_code if isinstance(provider, SubsystemId) else None,
        code,
    )


def list_methods_response(request: SoapMessage, services: Sequence[ServiceId]) -> bytes:
    """The answer to a ``listMethods``/``allowedMethods`` request (header echoed, requestHash added)."""
    name = request.body_name.localname
    if name not in (LIST_METHODS, ALLOWED_METHODS):
        raise XRoadFault(INVALID_REQUEST, f"{name!r} is not listMethods or allowedMethods")
    body = etree.Element(_x(f"{name}Response"), nsmap={"xrd": XROAD_NS, "id": IDENTIFIERS_NS})
    for service in services:
        id_to_xml(service, _x("service"), body)
    return build_response(request, body)


def parse_list_methods_response(message: SoapMessage) -> list[ServiceId]:
    body = message.envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    wrapper = next(c for c in body if isinstance(c.tag, str))
    try:
        return [service_from_xml(el) for el in wrapper.findall(_x("service"))]
    except IdentifierError as exc:
        raise XRoadFault(INVALID_MESSAGE, f"malformed service in listMethods response: {exc}") from None


# -- SOAP getWsdl ---------------------------------------------------------------------------


def get_wsdl_request(
    client: ClientId, provider: ClientId, *, query_id: str, service_code: str, service_version: str | None = None
) -> bytes:
    body = etree.Element(_x(GET_WSDL), nsmap={"xrd": XROAD_NS})
    etree.SubElement(body, _x("serviceCode")).text = service_code
    if service_version is not None:
        etree.SubElement(body, _x("serviceVersion")).text = service_version
    return build_request(client=client, service=_service_of(provider, GET_WSDL), query_id=query_id, body=body)


def read_get_wsdl_request(message: SoapMessage) -> ServiceId:
    """The service whose WSDL is asked for (the provider of the request + serviceCode/Version)."""
    body = message.envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    wrapper = next(c for c in body if isinstance(c.tag, str))
    if wrapper.tag != _x(GET_WSDL):
        raise XRoadFault(INVALID_REQUEST, "the body is not xrd:getWsdl")
    code = (wrapper.findtext(_x("serviceCode")) or "").strip()
    if not code:
        raise XRoadFault(INVALID_REQUEST, "getWsdl request has no serviceCode")
    version = wrapper.findtext(_x("serviceVersion"))
    service = message.header.service
    try:
        return ServiceId(
            service.instance, service.member_class, service.member_code, service.subsystem_code, code,
            version.strip() if version and version.strip() else None,
        )
    except IdentifierError as exc:
        raise XRoadFault(INVALID_REQUEST, f"invalid serviceCode in getWsdl request: {exc}") from None


def get_wsdl_response(
    request: SoapMessage, wsdl: bytes, *, attachment_uuid: str | None = None, boundary: str | None = None
) -> tuple[str, bytes]:
    """``(content_type, body)`` of the multipart getWsdl answer; ``wsdl`` is already
    prepared for serving (see :func:`trust.protocol._wsdl.prepare_for_serving`)."""
    target = read_get_wsdl_request(request)
    body = etree.Element(_x("getWsdlResponse"), nsmap={"xrd": XROAD_NS})
    etree.SubElement(body, _x("serviceCode")).text = target.service_code
    if target.service_version is not None:
        etree.SubElement(body, _x("serviceVersion")).text = target.service_version
    soap = build_response(request, body)
    content_id = f"<wsdl={attachment_uuid or uuid.uuid4()}@x-road.eu>"
    headers = (("Content-Type", "text/xml; charset=UTF-8"), ("Content-ID", content_id))
    return multipart_related(soap, [(headers, wsdl)], boundary=boundary or f"xroad{uuid.uuid4().hex}")


# -- REST listMethods / allowedMethods --------------------------------------------------------


@dataclass(frozen=True)
class RestServiceEntry:
    service: ServiceId
    service_type: str  # "WSDL" | "REST" | "OPENAPI"
    endpoints: tuple[tuple[str, str], ...] = ()  # (method, path)

    def __post_init__(self) -> None:
        if self.service_type not in SERVICE_TYPES:
            raise ValueError(f"service type must be one of {SERVICE_TYPES}")


def rest_methods_json(entries: Iterable[RestServiceEntry]) -> bytes:
    """``{"service":[...]}`` in X-Road's snake_case with nulls omitted."""
    services = []
    for entry in entries:
        s = entry.service
        item: dict[str, Any] = {
            "object_type": "SERVICE",
            "xroad_instance": s.instance,
            "member_class": s.member_class,
            "member_code": s.member_code,
            "subsystem_code": s.subsystem_code,
            "service_code": s.service_code,
            "service_version": s.service_version,
            "service_type": entry.service_type,
        }
        if entry.endpoints:
            item["endpoint_list"] = [{"method": m, "path": p} for m, p in entry.endpoints]
        services.append({k: v for k, v in item.items() if v is not None})
    return json.dumps({"service": services}, ensure_ascii=False).encode("utf-8")


def parse_rest_methods_json(data: bytes) -> list[RestServiceEntry]:
    document = json.loads(data)
    out = []
    for item in document.get("service", []):
        service = ServiceId(
            item["xroad_instance"], item["member_class"], item["member_code"], item.get("subsystem_code"),
            item["service_code"], item.get("service_version"),
        )
        endpoints = tuple((e["method"], e["path"]) for e in item.get("endpoint_list", []))
        out.append(RestServiceEntry(service, item["service_type"], endpoints))
    return out
