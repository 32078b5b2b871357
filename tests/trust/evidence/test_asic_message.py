"""Who signed a logged message, read from the message: SOAP envelopes and REST header parts."""

from __future__ import annotations

import pytest

from trust.evidence._asic_message import MessageUnreadable, read_identity

XRD = "http://x-road.eu/xsd/xroad.xsd"
IDN = "http://x-road.eu/xsd/identifiers"


def _soap(header: str, body: str = "<m:getThing xmlns:m='urn:m'/>", env: str = "http://schemas.xmlsoap.org/soap/envelope/") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{env}" xmlns:x="{XRD}" xmlns:id="{IDN}"><s:Header>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


CLIENT = (
    '<x:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>'
    "<id:memberCode>1</id:memberCode><id:subsystemCode>a</id:subsystemCode></x:client>"
)
SERVICE = (
    '<x:service id:objectType="SERVICE"><id:xRoadInstance>EE</id:xRoadInstance><id:memberClass>COM</id:memberClass>'
    "<id:memberCode>2</id:memberCode><id:subsystemCode>b</id:subsystemCode><id:serviceCode>getThing</id:serviceCode>"
    "</x:service>"
)


def test_soap_request_is_signed_by_its_client() -> None:
    identity = read_identity(_soap(CLIENT + SERVICE + "<x:id>q1</x:id><x:protocolVersion>4.0</x:protocolVersion>"))
    assert (identity.kind, identity.is_response, identity.query_id) == ("soap", False, "q1")
    assert identity.signer.to_text() == "EE/GOV/1/a"


def test_soap_response_is_signed_by_the_provider() -> None:
    header = CLIENT + SERVICE + "<x:id> q2 </x:id><x:requestHash>abc</x:requestHash>"
    identity = read_identity(_soap(header))
    assert identity.is_response and identity.query_id == " q2 "
    assert identity.signer.to_text() == "EE/COM/2/b"
    by_name = read_identity(_soap(CLIENT + SERVICE, body="<m:getThingResponse xmlns:m='urn:m'/>"))
    assert by_name.is_response and by_name.query_id is None


def test_soap_12_envelope_and_service_optional() -> None:
    identity = read_identity(_soap(CLIENT, env="http://www.w3.org/2003/05/soap-envelope"))
    assert identity.service is None and identity.signer.to_text() == "EE/GOV/1/a"


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (b"<not-xml", "message.xml is not readable XML"),
        (b"<a/>", "message.xml is not a SOAP envelope"),
        (
            b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
            "SOAP message has no header, so no X-Road client",
        ),
        (_soap(SERVICE), "SOAP header has no xroad:client"),
        (_soap('<x:client id:objectType="MEMBER"/>'), "SOAP header identifiers are malformed"),
    ],
)
def test_unreadable_soap(message: bytes, text: str) -> None:
    with pytest.raises(MessageUnreadable, match=text):
        read_identity(message)


def test_rest_request_and_response() -> None:
    request = b"GET\r\n/r1/EE/COM/2/b/getThing/x?y=1\r\nX-Road-Client:EE/GOV/1/a\r\nX-Road-Id: q3 "
    identity = read_identity(request)
    assert (identity.kind, identity.is_response, identity.query_id) == ("rest", False, "q3")
    assert identity.service is not None and identity.service.to_text() == "EE/COM/2/b/getThing"
    response = b"200\nOK\n\nx-road-client:EE/GOV/1/a\nX-Road-Service:EE/COM/2/b/getThing\nX-Road-Service:EE/X/3/c/d"
    identity = read_identity(response)
    assert identity.is_response and identity.signer.to_text() == "EE/COM/2/b"
    assert read_identity(b"200\r\nOK\r\nX-Road-Client:EE/GOV/1/a").service is None


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (b"GET\xff\r\n/r1", "REST header part is not UTF-8"),
        (b"GET", "REST header part is too short"),
        (b"GET\r\n/r1/EE/COM/2/b/s\r\nX-Road-Client:EE/GOV/1/a\r\nbroken", "'broken'"),
        (b"GET\r\n/r1/EE/COM/2/b/s", "REST header part lacks x-road-client"),
        (b"GET\r\n/r1/EE/COM/2/b/s\r\nX-Road-Client:EE", "REST identifiers are malformed"),
        (b"GET\r\n/r2/EE\r\nX-Road-Client:EE/GOV/1/a", "is not /r1/"),
    ],
)
def test_unreadable_rest(message: bytes, text: str) -> None:
    with pytest.raises(MessageUnreadable, match=text):
        read_identity(message)
