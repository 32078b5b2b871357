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
@pytest.mark.conformance(area="identifiers", vector="schemas/identifiers.xsd",
                         expected="the XML of {identifier} validates against X-Road's schema")
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
    odd = SubsystemId("EE", "GOV", "a b", "sub\u00e4")
    text = odd.to_text()
    assert text == "EE/GOV/a%20b/sub%C3%A4"
    assert parse_client(text) == odd


@pytest.mark.parametrize(
    "text",
    ["EE/GOV/00000001_1/with:colon", "EE/GOV/1/a%2Fb", "EE/GOV/1/a%252Fb", "EE/GOV/1/semi;colon",
     "EE/GOV/1/back\\slash", "EE/GOV/1/%2e%2e", "EE/GOV/1/..", "EE/GOV/1/.", "EE/GOV/1/zero\u200bwidth",
     "EE/GOV/1/bom\ufeff", "EE/GOV/1/tab%09x", "EE/GOV/1/nul%00"],
)
def test_codes_with_characters_xroad_refuses_are_refused(text):
    """X-Road's identifier validators refuse : ; / \\ % and control characters inside codes (issue 15)."""
    with pytest.raises(IdentifierError, match="must not contain|not allowed"):
        parse_client(text)


def test_constructors_and_xml_follow_the_same_rules():
    with pytest.raises(IdentifierError, match="colon"):
        SubsystemId("EE", "GOV", "1", "a:b")
    data = (b'<c xmlns:id="http://x-road.eu/xsd/identifiers" id:objectType="MEMBER"><id:xRoadInstance>EE'
            b"</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>1%2</id:memberCode></c>")
    with pytest.raises(IdentifierError, match="percent"):
        id_from_xml(parse_xml(data))
    real = SubsystemId("EE", "GOV", "00000001_1", "Test group")  # real codes outside the spec's set pass
    real.check_strict()
    assert parse_client(real.to_text()) == real


def test_typed_text_goes_through_the_typed_parser():
    """``SERVICE:EE/...`` is a typed service, never a service of instance ``SERVICE:EE`` (issue 15)."""
    expected = ServiceId("EE", "GOV", "70000001", "tax", "getPerson", "v1")
    assert parse_service("SERVICE:EE/GOV/70000001/tax/getPerson/v1") == expected
    assert parse_client("SUBSYSTEM:EE/GOV/70000001/tax") == SubsystemId("EE", "GOV", "70000001", "tax")
    assert parse_server("SERVER:EE/GOV/70000001/gw1") == SecurityServerId("EE", "GOV", "70000001", "gw1")
    with pytest.raises(IdentifierError, match="is a SUBSYSTEM identifier"):
        parse_service("SUBSYSTEM:EE/GOV/70000001/tax")
    with pytest.raises(IdentifierError, match="colon"):
        parse_service("PERSON:EE/GOV/70000001/tax/getPerson")


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
@pytest.mark.conformance(area="identifiers")
def test_bad_identifier_xml_is_refused(data):
    with pytest.raises(IdentifierError):
        id_from_xml(parse_xml(data))


def test_represented_party():
    assert RepresentedParty.parse("COM/12345").party_class == "COM"
    assert RepresentedParty.parse("12345") == RepresentedParty("12345")
    assert RepresentedParty("1 2", "COM").to_text() == "COM/1%202"
    with pytest.raises(IdentifierError, match="slash"):
        RepresentedParty("1/2", "COM")
    with pytest.raises(IdentifierError):
        RepresentedParty.parse("a/b/c")


def test_identifiers_are_hashable_values():
    a = SubsystemId("EE", "GOV", "70000001", "tax")
    b = parse_client("EE/GOV/70000001/tax")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.instance = "FI"  # type: ignore[misc]
