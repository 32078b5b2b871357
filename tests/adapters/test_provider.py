"""The provider adapter over real HTTP: zeep through the served WSDL, header echo, SOAP and REST faces."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

from tests.adapters.xroad_messages import (
    POPULATION_NS,
    POPULATION_SERVICE,
    SOAP,
    VERO_NS,
    VERO_SERVICE,
    XRD,
    body_payload,
    fault_code,
    get_person,
    get_tax_record,
    xroad_request,
)

DS = "http://www.w3.org/2000/09/xmldsig#"


def _headers(service_code: str, provider: tuple[str, str, str, str]) -> dict[str, Any]:
    instance, member_class, member_code, subsystem = provider
    return {
        "client": {"objectType": "SUBSYSTEM", "xRoadInstance": "FI", "memberClass": "GOV",
                   "memberCode": "0242431-1", "subsystemCode": "dvv"},
        "service": {"objectType": "SERVICE", "xRoadInstance": instance, "memberClass": member_class,
                    "memberCode": member_code, "subsystemCode": subsystem, "serviceCode": service_code,
                    "serviceVersion": "v1"},
        "id": "zeep-0001",
        "userId": "FI010190-123M",
        "issue": "case-42",
        "protocolVersion": "4.0",
    }


def _post(url: str, data: bytes) -> tuple[int, etree._Element]:
    response = httpx.post(f"{url}/soap", content=data, headers={"Content-Type": "text/xml; charset=utf-8"})
    return response.status_code, etree.fromstring(response.content)


def test_zeep_calls_the_adapter_through_its_served_wsdl(sandbox: Any) -> None:
    client = zeep.Client(f"{sandbox['population']}/wsdl")
    result = client.service.getPerson(
        personCode="49001011238", _soapheaders=_headers("getPerson", ("EE", "GOV", "70000002", "population"))
    )
    person = result.body.person
    assert (person.givenName, person.familyName, person.gender) == ("Mari", "Maasikas", "F")
    assert str(person.dateOfBirth) == "1990-01-01"
    assert result.header.id == "zeep-0001" and result.header.issue == "case-42"

    vero = zeep.Client(f"{sandbox['vero']}/wsdl")
    tax = vero.service.getTaxRecord(
        personCode="010190-123M", year=2024, _soapheaders=_headers("getTaxRecord", ("FI", "GOV", "0245437-2", "vero"))
    )
    record = tax.body.taxRecord
    assert record.year == 2024
    assert str(record.totalIncome) == "53550.40"  # the hook adds exactly


def test_headers_are_echoed_unchanged_and_in_order(sandbox: Any) -> None:
    request = xroad_request(POPULATION_SERVICE, get_person("39001011237"), issue="ticket 7", user_id="EE38001085718")
    status, envelope = _post(sandbox["population"], request)
    assert status == 200
    sent = etree.fromstring(request).find(f"{{{SOAP}}}Header")
    got = envelope.find(f"{{{SOAP}}}Header")
    assert sent is not None and got is not None
    canon = lambda h: [etree.tostring(c, method="c14n", exclusive=True) for c in h]  # noqa: E731
    assert canon(got) == canon(sent)
    assert [etree.QName(c).localname for c in got] == ["client", "service", "id", "userId", "issue", "protocolVersion"]


def test_unknown_person_is_a_clean_answer_not_a_fault(sandbox: Any) -> None:
    status, envelope = _post(sandbox["population"], xroad_request(POPULATION_SERVICE, get_person("50001010006")))
    assert status == 200 and fault_code(envelope) is None
    payload = body_payload(envelope)
    assert payload.findtext(f"{{{POPULATION_NS}}}found") == "false"
    assert payload.find(f"{{{POPULATION_NS}}}person") is None
    assert payload.find(f".//{{{DS}}}Signature") is None

    rest = httpx.get(f"{sandbox['population']}/rest/persons/50001010006")
    assert rest.status_code == 404 and "X-Road-Error" not in rest.headers
    assert rest.json()["type"] == "not_found"


def _soap_record(payload: etree._Element, ns: str, element: str) -> dict[str, Any]:
    def walk(el: etree._Element) -> Any:
        children = [c for c in el if isinstance(c.tag, str) and etree.QName(c).namespace == ns]
        if not children:
            return el.text
        return {etree.QName(c).localname: walk(c) for c in children}

    found = payload.find(f"{{{ns}}}{element}")
    assert found is not None
    return walk(found)  # type: ignore[no-any-return]


@pytest.mark.parametrize("code", ["39001011237", "49001011238"], ids=["matti", "mari"])
def test_population_same_data_over_soap_and_rest(sandbox: Any, code: str) -> None:
    status, envelope = _post(sandbox["population"], xroad_request(POPULATION_SERVICE, get_person(code)))
    assert status == 200
    soap = _soap_record(body_payload(envelope), POPULATION_NS, "person")
    rest = httpx.get(f"{sandbox['population']}/rest/persons/{code}", headers={"X-Road-Client": "FI/GOV/0245437-2/vero"})
    assert rest.status_code == 200
    data = rest.json()
    assert data["found"] is True
    assert data["person"] == soap
    assert data["person"]["personCode"] == code


def test_vero_same_data_over_soap_and_rest(sandbox: Any) -> None:
    status, envelope = _post(sandbox["vero"], xroad_request(VERO_SERVICE, get_tax_record("010190-123M", 2025)))
    assert status == 200
    soap = _soap_record(body_payload(envelope), VERO_NS, "taxRecord")
    rest = httpx.get(f"{sandbox['vero']}/rest/income/010190-123M", params={"year": "2025"}).json()["taxRecord"]
    assert rest.keys() == soap.keys()
    for key, value in soap.items():
        if isinstance(rest[key], (int, float)):
            assert Decimal(str(rest[key])) == Decimal(value), key
        else:
            assert rest[key] == value, key
    assert soap["totalIncome"] == "55780.10" and soap["name"] == "Meikäläinen Matti"
    missing = httpx.get(f"{sandbox['vero']}/rest/income/010190-123M", params={"year": "1999"})
    assert missing.status_code == 404


def test_dvv_residents_is_plain_rest(sandbox: Any) -> None:
    matti = httpx.get(f"{sandbox['dvv']}/residents/010190-123M").json()
    assert matti["lastName"] == "Meikäläinen" and matti["municipality"] == "Helsinki"
    assert httpx.get(f"{sandbox['dvv']}/residents/49001011238").status_code == 404
    assert httpx.get(f"{sandbox['dvv']}/residents", params={"municipality": "091"}).json()["residents"] == [matti]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.remove(h.find(f"{{{XRD}}}client")), "client.adapter.missing_header_field"),
        (lambda h: h.append(etree.fromstring(f'<x:id xmlns:x="{XRD}">again</x:id>')), "client.adapter.duplicate_header_field"),
        (lambda h: setattr(h.find(f"{{{XRD}}}protocolVersion"), "text", "3.1"), "client.adapter.invalid_protocol_version"),
        (lambda h: setattr(h.find(f"{{{XRD}}}service").find("{http://x-road.eu/xsd/identifiers}serviceCode"),
                           "text", "deletePerson"), "client.adapter.unknown_service"),
    ],
    ids=["missing-client", "duplicate-id", "protocol-3", "unknown-service"],
)
def test_bad_requests_get_specific_client_faults(sandbox: Any, mutate: Any, code: str) -> None:
    request = etree.fromstring(xroad_request(POPULATION_SERVICE, get_person("39001011237")))
    mutate(request.find(f"{{{SOAP}}}Header"))
    status, envelope = _post(sandbox["population"], etree.tostring(request))
    assert status == 500
    assert fault_code(envelope) == code
    assert envelope.findtext(f".//{{{SOAP}}}Fault/detail/faultDetail")  # correlation id


def test_request_not_matching_the_schema_and_garbage_are_refused(sandbox: Any) -> None:
    wrong = etree.Element(f"{{{POPULATION_NS}}}getPerson")
    etree.SubElement(wrong, f"{{{POPULATION_NS}}}isikukood").text = "39001011237"
    status, envelope = _post(sandbox["population"], xroad_request(POPULATION_SERVICE, wrong))
    assert fault_code(envelope) == "client.adapter.invalid_request"
    status, envelope = _post(sandbox["population"], b"<not-xml")
    assert status == 500 and fault_code(envelope) == "client.adapter.invalid_xml"
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    status, envelope = _post(sandbox["population"], doctype)
    assert fault_code(envelope) == "client.adapter.invalid_xml"
    rest = httpx.get(f"{sandbox['vero']}/rest/income/010190-123M", params={"year": "last"})
    assert rest.status_code == 400 and rest.headers["X-Road-Error"] == "client.adapter.invalid_request"


def test_openapi_describes_the_rest_face(sandbox: Any) -> None:
    doc = httpx.get(f"{sandbox['population']}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    operation = doc["paths"]["/persons/{personCode}"]["get"]
    assert operation["parameters"][0]["name"] == "personCode" and operation["parameters"][0]["in"] == "path"
    person = doc["components"]["schemas"]["getPersonResponse"]["properties"]["person"]
    assert person["properties"]["address"]["properties"]["county"] == {"type": "string"}
    assert doc["servers"][0]["url"] == f"{sandbox['population']}/rest"


def test_concurrent_calls_each_get_their_own_answer(sandbox: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    codes = ["39001011237", "49001011238", "50001010006"] * 8

    def call(code: str) -> tuple[str, str | None]:
        status, envelope = _post(sandbox["population"], xroad_request(POPULATION_SERVICE, get_person(code)))
        assert status == 200
        return code, body_payload(envelope).findtext(f"{{{POPULATION_NS}}}person/{{{POPULATION_NS}}}personCode")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(call, codes))
    for code, answered in results:
        assert answered == (None if code == "50001010006" else code)
