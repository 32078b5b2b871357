"""Metaservice formats: listClients XML/JSON, SOAP listMethods/allowedMethods/getWsdl, REST lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from gateway.proxy import _metaservices as ms
from trust.protocol import _wsdl as wsdl
from trust.protocol import XRoadFault
from trust.protocol import SoapMessage, parse_soap
from trust.protocol import check_consistency, verify_request_hash
from trust.protocol import IDENTIFIERS_NS, MemberId, ServiceId, SubsystemId

CLIENT = SubsystemId("EE", "GOV", "70000001", "tax")
PROVIDER = SubsystemId("EE", "COM", "12345", "reg")
ENTRIES = [
    ms.ClientEntry(MemberId("EE", "GOV", "70000001"), "Tax Board"),
    ms.ClientEntry(CLIENT, "Tax Board", "Tax subsystem"),
]


def _soap(data: bytes, ctype: str = "text/xml; charset=UTF-8", role: str = "request") -> SoapMessage:
    message = parse_soap(data, ctype, role=role)  # type: ignore[arg-type]
    assert isinstance(message, SoapMessage)
    return message


def test_list_clients_xml() -> None:
    data = ms.list_clients_xml(ENTRIES)
    root = etree.fromstring(data)
    assert root.tag == "{http://x-road.eu/xsd/xroad.xsd}clientList"
    first, second = root
    id_el = second.find("{http://x-road.eu/xsd/xroad.xsd}id")
    assert id_el is not None and id_el.get(f"{{{IDENTIFIERS_NS}}}objectType") == "SUBSYSTEM"
    assert [c.tag.split("}")[1] for c in second] == ["id", "name", "subsystemName"]
    assert [c.tag.split("}")[1] for c in first] == ["id", "name"]
    assert ms.parse_list_clients_xml(data) == ENTRIES


@pytest.mark.conformance(area="metaservices")
def test_list_clients_xml_validates_against_own_schema() -> None:
    schema = etree.XMLSchema(etree.parse(str(Path(wsdl.__file__).parent / "schemas" / "xroad.xsd")))
    assert schema.validate(etree.fromstring(ms.list_clients_xml(ENTRIES))), schema.error_log


def test_list_clients_json_snake_case() -> None:
    document = json.loads(ms.list_clients_json(ENTRIES))
    assert document == {
        "member": [
            {"id": {"object_type": "MEMBER", "xroad_instance": "EE", "member_class": "GOV", "member_code": "70000001"}, "name": "Tax Board"},
            {
                "id": {"object_type": "SUBSYSTEM", "xroad_instance": "EE", "member_class": "GOV", "member_code": "70000001", "subsystem_code": "tax"},
                "name": "Tax Board",
                "subsystem_name": "Tax subsystem",
            },
        ]
    }
    assert ms.parse_list_clients_json(ms.list_clients_json(ENTRIES)) == ENTRIES


@pytest.mark.parametrize("allowed", [False, True])
@pytest.mark.conformance(area="metaservices")
def test_soap_list_methods(allowed: bool) -> None:
    request = _soap(ms.list_methods_request(CLIENT, PROVIDER, query_id="q1", allowed=allowed))
    name = "allowedMethods" if allowed else "listMethods"
    assert request.header.service == ServiceId("EE", "COM", "12345", "reg", name)
    assert request.body_name.localname == name
    services = [PROVIDER.service("getPerson", "v1"), PROVIDER.service("getCar")]
    response = _soap(ms.list_methods_response(request, services), role="response")
    assert response.body_name.localname == f"{name}Response"
    check_consistency(request, response)
    verify_request_hash(response, request.soap_bytes)
    assert ms.parse_list_methods_response(response) == services


@pytest.mark.conformance(area="metaservices", vector="soap/queries/getstate.query")
def test_list_methods_response_refuses_other_bodies(xroad: Path) -> None:
    other = _soap((xroad / "soap" / "queries" / "getstate.query").read_bytes())
    with pytest.raises(XRoadFault):
        ms.list_methods_response(other, [])


@pytest.mark.conformance(area="metaservices", vector="services/wsdl/xroad6.wsdl")
def test_get_wsdl_request_and_multipart_response(xroad: Path) -> None:
    request = _soap(ms.get_wsdl_request(CLIENT, PROVIDER, query_id="q2", service_code="getRandom", service_version="v1"))
    assert ms.read_get_wsdl_request(request) == PROVIDER.service("getRandom", "v1")
    served = wsdl.prepare_for_serving((xroad / "services" / "wsdl" / "xroad6.wsdl").read_bytes(), "http://gw:8080")
    ctype, body = ms.get_wsdl_response(request, served, attachment_uuid="1234", boundary="bnd")
    assert ctype.startswith("multipart/related")
    response = parse_soap(body, ctype, role="response")
    assert isinstance(response, SoapMessage)
    assert response.body_name.localname == "getWsdlResponse"
    check_consistency(request, response)
    [attachment] = response.attachments
    assert attachment.headers.get("Content-ID") == "<wsdl=1234@x-road.eu>"
    assert attachment.content_type is not None and attachment.content_type.startswith("text/xml")
    assert attachment.read() == served
    assert wsdl.parse_wsdl(attachment.read()).endpoints == (wsdl.ENDPOINT_PLACEHOLDER,)


def test_get_wsdl_without_service_code_refused() -> None:
    original = ms.get_wsdl_request(CLIENT, PROVIDER, query_id="q", service_code="x")
    data = original.replace(b"<xroad:serviceCode>x</xroad:serviceCode>", b"")
    assert data != original
    with pytest.raises(XRoadFault) as info:
        ms.read_get_wsdl_request(_soap(data))
    assert info.value.fault_code == "invalid_request"


@pytest.mark.conformance(area="metaservices")
def test_rest_methods_json_snake_case_nulls_omitted() -> None:
    entries = [
        ms.RestServiceEntry(PROVIDER.service("pets"), "OPENAPI", (("GET", "/pets"), ("POST", "/pets/{id}"))),
        ms.RestServiceEntry(PROVIDER.service("plain"), "REST"),
    ]
    document = json.loads(ms.rest_methods_json(entries))
    assert document["service"][0] == {
        "object_type": "SERVICE", "xroad_instance": "EE", "member_class": "COM", "member_code": "12345",
        "subsystem_code": "reg", "service_code": "pets", "service_type": "OPENAPI",
        "endpoint_list": [{"method": "GET", "path": "/pets"}, {"method": "POST", "path": "/pets/{id}"}],
    }
    assert "service_version" not in document["service"][1] and "endpoint_list" not in document["service"][1]
    assert ms.parse_rest_methods_json(ms.rest_methods_json(entries)) == entries
    with pytest.raises(ValueError):
        ms.RestServiceEntry(PROVIDER.service("x"), "SOAP")
