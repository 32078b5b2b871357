"""Identifiers: text forms, typed forms, XML that validates against X-Road's schema."""

from __future__ import annotations

import pytest
from lxml import etree

from trust.errors import IdentifierError
from trust.protocol import (
    IDENTIFIERS_NS, GlobalGroupId, LocalGroupId, MemberId, RepresentedParty, SecurityServerId, ServiceId,
    SubsystemId, client_from_xml, id_from_xml, id_to_xml, parse_client, parse_server, parse_service,
    parse_typed, service_from_xml,
)
from trust.infra import parse_xml
from trust.infra._safexml import load_schema

SAMPLES = [
    MemberId("EE", "GOV", "70000001"),
    SubsystemId("EE", "GOV", "70000001", "tax"),
    ServiceId("EE", "GOV", "70000001", "tax", "getPerson", "v1"),
    ServiceId("EE", "GOV", "70000001", None, "getPerson"),
    SecurityServerId("EE", "GOV", "70000001", "gw1"),
    GlobalGroupId("EE", "security-server-owners"),
    LocalGroupId("auditors"),
]


@pytest.mark.parametrize("identifier", SAMPLES, ids=lambda i: i.typed_text())
def test_typed_text_round_trip(identifier):
    assert parse_typed(identifier.typed_text()) == identifier


@pytest.mark.parametrize("identifier", SAMPLES, ids=lambda i: i.typed_text())
def test_xml_round_trip_validates_against_xroad_schema(identifier, xroad):
    schema = load_schema(xroad / "schemas" / "identifiers.xsd")
    # wrap in an element of the generic identifier type so the schema can check it
    element = id_to_xml(identifier, f"{{{IDENTIFIERS_NS}}}probe")
    wrapper_xsd = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:id="{IDENTIFIERS_NS}"
        targetNamespace="{IDENTIFIERS_NS}" elementFormDefault="qualified">
      <xs:include schemaLocation="{(xroad / 'schemas' / 'identifiers.xsd').as_uri()}"/>
      <xs:element name="probe" type="id:XRoadIdentifierType"/>
    </xs:schema>"""
    wrapper = etree.XMLSchema(etree.fromstring(wrapper_xsd.encode()))
    assert wrapper.validate(element), wrapper.error_log
    assert schema is not None
    # children come in the schema's order and are qualified
    names = [etree.QName(c).localname for c in element]
    order = ["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "groupCode", "serviceCode",
             "serviceVersion", "serverCode"]
    assert names == sorted(names, key=order.index)
    assert all(etree.QName(c).namespace == IDENTIFIERS_NS for c in element)
    reparsed = id_from_xml(parse_xml(etree.tostring(element)))
    assert reparsed == identifier


def test_text_forms_follow_rest_conventions():
    service = ServiceId("EE", "GOV", "70000001", "tax", "getPerson", "v1")
    assert service.to_text() == "EE/GOV/70000001/tax/getPerson"  # REST form has no version
    assert service.typed_text() == "SERVICE:EE/GOV/70000001/tax/getPerson/v1"
    assert service.provider == SubsystemId("EE", "GOV", "70000001", "tax")
    assert service.without_version() == ServiceId("EE", "GOV", "70000001", "tax", "getPerson")
    assert parse_client("EE/GOV/70000001/tax") == SubsystemId("EE", "GOV", "70000001", "tax")
    assert parse_client("EE/GOV/70000001") == MemberId("EE", "GOV", "70000001")
    assert parse_server("EE/GOV/70000001/gw1").owner == MemberId("EE", "GOV", "70000001")
    assert parse_service("EE/GOV/70000001/tax/getPerson") == service.without_version()


def test_each_part_is_percent_encoded_on_its_own():
    odd = SubsystemId("EE", "GOV", "a/b c", "sub%1")
    text = odd.to_text()
    assert text == "EE/GOV/a%2Fb%20c/sub%251"
    assert parse_client(text) == odd


def test_lenient_parsing_strict_generation():
    lenient = parse_client("EE/GOV/00000001_1/with:colon")
    assert lenient.member_code == "00000001_1"
    with pytest.raises(IdentifierError):
        lenient.check_strict()
    SubsystemId("EE", "GOV", "00000001_1", "tax").check_strict()


@pytest.mark.parametrize(
    "text",
    ["", "EE", "EE/GOV", "EE//70000001", "EE/GOV/1/2/3", " / / "],
)
def test_bad_client_text_is_refused(text):
    with pytest.raises(IdentifierError):
        parse_client(text)


@pytest.mark.parametrize("text", ["PERSON:EE/GOV/1", "MEMBER:EE/GOV", "no-prefix", "SERVER:EE/GOV/1"])
def test_bad_typed_text_is_refused(text):
    with pytest.raises(IdentifierError):
        parse_typed(text)


def test_constructor_refuses_bad_parts():
    with pytest.raises(IdentifierError):
        MemberId("EE", "", "1")
    with pytest.raises(IdentifierError):
        MemberId("EE", "GOV", " 1")
    with pytest.raises(IdentifierError):
        MemberId("EE", "GOV", "a\x00b")


def test_xml_reading_is_lenient_but_checks_types():
    data = (
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="SUBSYSTEM">'
        b"<id:xRoadInstance> EE </id:xRoadInstance><id:memberClass>GOV</id:memberClass>"
        b"<id:memberCode>70000001</id:memberCode><id:subsystemCode>tax</id:subsystemCode></c>"
    )
    element = parse_xml(data)
    assert client_from_xml(element) == SubsystemId("EE", "GOV", "70000001", "tax")
    with pytest.raises(IdentifierError):
        service_from_xml(element)


@pytest.mark.parametrize(
    "data",
    [
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers"><id:xRoadInstance>EE</id:xRoadInstance></c>',
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="ROBOT"/>',
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="MEMBER"><id:xRoadInstance>EE'
        b"</id:xRoadInstance></c>",
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="MEMBER"><id:xRoadInstance>EE'
        b"</id:xRoadInstance><id:memberClass>A</id:memberClass><id:memberClass>B</id:memberClass>"
        b"<id:memberCode>1</id:memberCode></c>",
        b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="MEMBER"><id:xRoadInstance>EE'
        b"</id:xRoadInstance><id:memberClass>A</id:memberClass><id:memberCode>1</id:memberCode>"
        b"<id:serverCode>x</id:serverCode></c>",
    ],
    ids=["no-type", "unknown-type", "missing-parts", "duplicate", "foreign-field"],
)
def test_bad_identifier_xml_is_refused(data):
    with pytest.raises(IdentifierError):
        id_from_xml(parse_xml(data))


def test_represented_party():
    assert RepresentedParty.parse("COM/12345").party_class == "COM"
    assert RepresentedParty.parse("12345") == RepresentedParty("12345")
    assert RepresentedParty("1/2", "COM").to_text() == "COM/1%2F2"
    with pytest.raises(IdentifierError):
        RepresentedParty.parse("a/b/c")


def test_identifiers_are_hashable_values():
    a = SubsystemId("EE", "GOV", "70000001", "tax")
    b = parse_client("EE/GOV/70000001/tax")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.instance = "FI"  # type: ignore[misc]
