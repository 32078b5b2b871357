"""Metaservices answered by the provider's gateway itself (NOTES.md section 4).

``listMethods`` and ``allowedMethods`` (SOAP and REST) list the provider's services;
``allowed...`` keeps those the caller may use; metaservices are never listed. They
travel like any X-Road call (signed, logged) and are answered here instead of by a
backend. ``getWsdl``/``getOpenAPI`` return the stored service description. The
operational-monitoring metaservices of the gateway's owner are
:mod:`gateway.proxy._opmonitoring`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING

from lxml import etree

from trust.protocol import IDENTIFIERS_NS, ClientId, ServiceId, id_to_xml

from trust.protocol import XRoadFault, for_clients
from trust.protocol import SOAP_ENV_NS, XROAD_NS, SoapMessage

if TYPE_CHECKING:
    from ._gateway_parts import GatewayParts
    from trust.protocol import HeaderPart

SOAP_META = frozenset({"listMethods", "allowedMethods", "getWsdl"})
REST_META = frozenset({"listMethods", "allowedMethods", "getOpenAPI"})


def _services(parts: "GatewayParts", provider: ClientId, client: ClientId | None, protocol: str,
              at: dt.datetime) -> list[tuple[ServiceId, str]]:
    """``listMethods`` (client None) or ``allowedMethods`` of ``provider`` for ``protocol``."""
    if client is None:
        found = parts.access.list_services(provider, protocol=protocol)
    else:
        found = parts.access.allowed_services(provider, client, protocol=protocol)
    return [(s.id, s.kind) for s in found if s.id.service_code not in SOAP_META | REST_META]


def _provider_served(parts: "GatewayParts", provider: ClientId) -> None:
    info = parts.serverconf.snapshot().client(provider)
    if info is None or not info.registered:
        raise XRoadFault("unknown_member", f"service provider {provider.to_text()} is not served here")


def soap_metaservice(parts: "GatewayParts", soap: SoapMessage, at: dt.datetime) -> tuple[bytes, str] | None:
    from ._opmonitoring import opmonitoring_metaservice

    answered = opmonitoring_metaservice(parts, soap)  # the owner's operational monitoring (NOTES 8)
    if answered is not None:
        return answered
    service = soap.header.service
    if service is None or service.service_code not in SOAP_META:
        return None
    code = service.service_code
    provider = service.provider
    _provider_served(parts, provider)
    if code == "getWsdl":
        return _get_wsdl(parts, soap)
    client = soap.header.client if code == "allowedMethods" else None
    found = _services(parts, provider, client, "SOAP", at)
    env = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope",
                        nsmap={"SOAP-ENV": SOAP_ENV_NS, "xrd": XROAD_NS, "id": IDENTIFIERS_NS})
    req_header = soap.envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    if req_header is not None:
        header = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Header")
        for child in req_header:
            header.append(etree.fromstring(etree.tostring(child)))
    body = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Body")
    resp = etree.SubElement(body, f"{{{XROAD_NS}}}{code}Response")
    for svc, _ in found:
        id_to_xml(svc, f"{{{XROAD_NS}}}service", resp)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8"), "text/xml; charset=utf-8"


def rest_metaservice(parts: "GatewayParts", client: ClientId, service: ServiceId, method: str, rest_path: str,
                     query: str, head: "HeaderPart", at: dt.datetime
                     ) -> tuple[int, str, list[tuple[str, str]], bytes] | None:
    code = service.service_code
    if code not in REST_META:
        return None
    provider = service.provider
    _provider_served(parts, provider)
    if code == "getOpenAPI":
        from urllib.parse import parse_qs

        wanted = (parse_qs(query).get("serviceCode") or [""])[0]
        if not wanted:
            raise XRoadFault("invalid_request", "getOpenAPI needs the query parameter serviceCode")
        kind, doc = _description(parts, provider, wanted)
        if kind is None:
            raise XRoadFault("unknown_service", f"{provider.to_text()} has no service {wanted!r}")
        if doc is None or kind != "OPENAPI":
            # X-Road answers service_type here as well; the message says what is missing
            raise XRoadFault("service_type", f"no OpenAPI description for this service: {wanted!r} is a "
                             f"{'SOAP' if kind == 'WSDL' else 'REST'} service registered without one")
        out, ctype = for_clients(doc)  # backend addresses (servers[].url) never reach a client
        return 200, "OK", [("Content-Type", ctype)], out
    found = _services(parts, provider, client if code == "allowedMethods" else None, "REST", at)
    items = []
    for svc, kind in found:
        item: dict[str, object] = {
            "object_type": "SERVICE", "xroad_instance": svc.instance, "member_class": svc.member_class,
            "member_code": svc.member_code, "service_code": svc.service_code, "service_type": kind,
        }
        if svc.subsystem_code is not None:
            item["subsystem_code"] = svc.subsystem_code
        items.append(item)
    data = json.dumps({"service": items}).encode("utf-8")
    return 200, "OK", [("Content-Type", "application/json")], data


def new_query_id(instance: str) -> str:
    return f"{instance}-{uuid.uuid4()}"


def _description(parts: "GatewayParts", provider: ClientId, service_code: str) -> tuple[str | None, bytes | None]:
    try:
        return parts.serverconf.description_document(provider, service_code)
    except Exception:  # noqa: BLE001 - unknown service: answered as unknown_service
        return None, None


def _get_wsdl(parts: "GatewayParts", soap: SoapMessage) -> tuple[bytes, str]:
    """X-Road's getWsdl: SOAP answer plus the WSDL (endpoint hidden) as an attachment."""
    from ._metaservices import get_wsdl_response, read_get_wsdl_request
    from trust.protocol import rewrite_endpoint

    target = read_get_wsdl_request(soap)
    kind, doc = _description(parts, target.provider, target.service_code)
    if kind is None:
        raise XRoadFault("unknown_service", f"{target.provider.to_text()} has no service {target.service_code!r}")
    if doc is None or kind != "WSDL":
        raise XRoadFault("service_type", f"no WSDL for this service: {target.service_code!r} is a REST service")
    ctype, body = get_wsdl_response(soap, rewrite_endpoint(doc))
    return body, ctype
