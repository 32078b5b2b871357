"""The one reader of X-Road SOAP header fields: what its refusals name for callers that word their own."""

from __future__ import annotations

import pytest
from lxml import etree

from trust.protocol import HeaderFault, header_fields, read_header

XRD = "http://x-road.eu/xsd/xroad.xsd"
IDN = "http://x-road.eu/xsd/identifiers"
CLIENT = (
    f'<x:client xmlns:x="{XRD}" xmlns:id="{IDN}" id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance>'
    "<id:memberClass>GOV</id:memberClass><id:memberCode>1</id:memberCode><id:subsystemCode>a</id:subsystemCode>"
    "</x:client>"
)
SERVICE = (
    f'<x:service xmlns:x="{XRD}" xmlns:id="{IDN}" id:objectType="SERVICE"><id:xRoadInstance>EE</id:xRoadInstance>'
    "<id:memberClass>COM</id:memberClass><id:memberCode>2</id:memberCode><id:subsystemCode>b</id:subsystemCode>"
    "<id:serviceCode>getThing</id:serviceCode></x:service>"
)


def _header(*fields: str) -> etree._Element:
    return etree.fromstring(f'<h xmlns:x="{XRD}">{"".join(fields)}<other xmlns="urn:o"/></h>')


def test_header_fields_by_local_name_other_elements_ignored() -> None:
    fields = header_fields(_header(CLIENT, "<x:id>1</x:id>"))
    assert sorted(fields) == ["client", "id"]


def test_duplicate_names_the_field() -> None:
    with pytest.raises(HeaderFault) as info:
        header_fields(_header("<x:id>1</x:id>", CLIENT, "<x:id>2</x:id>"))
    assert (info.value.fault_code, info.value.field, info.value.reason) == ("duplicate_header_field", "id", "")


def test_missing_names_the_first_missing_field() -> None:
    with pytest.raises(HeaderFault) as info:
        read_header(_header(CLIENT, "<x:id>1</x:id>"))
    assert info.value.fault_code == "missing_header_field" and info.value.field == "service"
    assert info.value.message == "required header field(s) missing: service, protocolVersion"


def test_version_and_identifier_faults_carry_the_reason() -> None:
    with pytest.raises(HeaderFault) as info:
        read_header(_header(CLIENT, SERVICE, "<x:id>1</x:id><x:protocolVersion> 3.1</x:protocolVersion>"))
    assert (info.value.fault_code, info.value.field, info.value.reason) == ("invalid_protocol_version", "protocolVersion", "3.1")
    bad_client = CLIENT.replace("<id:memberCode>1</id:memberCode>", "")
    with pytest.raises(HeaderFault) as info:
        read_header(_header(bad_client, SERVICE, "<x:id>1</x:id><x:protocolVersion>4.0</x:protocolVersion>"))
    assert info.value.fault_code == "invalid_xml" and info.value.field == "client"
    assert info.value.reason and info.value.message.endswith(info.value.reason)


def test_a_good_header() -> None:
    header = read_header(_header(CLIENT, SERVICE, "<x:id> 1 </x:id><x:protocolVersion>4.0</x:protocolVersion>"))
    assert header.client.to_text() == "EE/GOV/1/a" and header.query_id == "1" and header.protocol_version == "4.0"
