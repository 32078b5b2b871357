"""The adapter's reading of an X-Road request header: codes and messages it answers with."""

from __future__ import annotations

from typing import Callable

import pytest
from lxml import etree

from adapters.soap import AdapterFault, parse_request
from tests.adapters.xroad_messages import SOAP, XRD, xroad_request

IDN = "http://x-road.eu/xsd/identifiers"
SERVICE = "EE/GOV/70000002/population/getPerson/v1"


def _request(mutate: Callable[[etree._Element], None] = lambda h: None, **kwargs: str) -> bytes:
    body = etree.Element("{urn:x}getPerson")
    envelope = etree.fromstring(xroad_request(SERVICE, body, **kwargs))
    mutate(envelope.find(f"{{{SOAP}}}Header"))
    return etree.tostring(envelope)


def test_fields_are_read() -> None:
    request = parse_request(_request(user_id=" EE1 ", issue=" 7 ", message_id=" q1 "))
    assert request.client == "FI/GOV/0245437-2/vero" and request.service.service_code == "getPerson"
    assert (request.message_id, request.user_id, request.issue, request.protocol_version) == ("q1", "EE1", "7", "4.0")
    plain = parse_request(_request(user_id=""))
    assert plain.user_id is None and plain.issue is None


def _remove(name: str) -> Callable[[etree._Element], None]:
    return lambda h: h.remove(h.find(f"{{{XRD}}}{name}"))


def _set(name: str, text: str) -> Callable[[etree._Element], None]:
    return lambda h: setattr(h.find(f"{{{XRD}}}{name}"), "text", text)


def _drop_member_code(h: etree._Element) -> None:
    client = h.find(f"{{{XRD}}}client")
    client.remove(client.find(f"{{{IDN}}}memberCode"))


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (_remove("client"), "client.adapter.missing_header_field", "X-Road header client is missing"),
        (_remove("protocolVersion"), "client.adapter.missing_header_field", "X-Road header protocolVersion is missing"),
        (
            lambda h: h.append(etree.fromstring(f'<x:id xmlns:x="{XRD}">again</x:id>')),
            "client.adapter.duplicate_header_field",
            "X-Road header id occurs more than once",
        ),
        (_set("protocolVersion", " 3.1 "), "client.adapter.invalid_protocol_version", "unsupported protocolVersion '3.1'"),
        (_drop_member_code, "client.adapter.invalid_header_field", "malformed X-Road identifier: "),
    ],
    ids=["missing-client", "missing-version", "duplicate-id", "protocol-3", "bad-client"],
)
def test_bad_headers(mutate: Callable[[etree._Element], None], code: str, message: str) -> None:
    with pytest.raises(AdapterFault) as info:
        parse_request(_request(mutate))
    assert info.value.code == code
    assert info.value.message.startswith(message), info.value.message


@pytest.mark.parametrize(("field", "text", "message"), [
    ("id", "x" * 1000, "X-Road header id is longer than 255 characters"),
    ("id", "  ", "X-Road header id is empty"),
    ("userId", "u" * 256, "X-Road header userId is longer than 255 characters"),
])
def test_header_field_sizes(field: str, text: str, message: str) -> None:
    """trust.protocol bounds the text fields while reading (issue 15); the adapter words it."""
    with pytest.raises(AdapterFault) as info:
        parse_request(_request(_set(field, text), user_id="EE1"))
    assert (info.value.code, info.value.message) == ("client.adapter.invalid_header_field", message)
