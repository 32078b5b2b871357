"""The gateway-to-gateway message format: encode, decode, refuse malformed messages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from trust.protocol import _faults as faults
from trust.protocol import XRoadFault
from trust.protocol._rest import request_header_part, response_header_part
from trust.protocol import SoapMessage, parse_soap
from trust.protocol.mime import chunked
from trust.protocol import OutgoingAttachment, RestContent, SoapContent, decode, encode, inbound_fault
from trust.protocol._proxy_message import TransportHeaders
from trust.keys import DigestAlgorithm

SIGNATURE = b'<?xml version="1.0"?><asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#"/>'


@pytest.fixture(scope="module")
def getstate(xroad: Path) -> bytes:
    return (xroad / "soap" / "queries" / "getstate.query").read_bytes()


def _join(chunks: object) -> bytes:
    return b"".join(chunks)  # type: ignore[arg-type]


def test_transport_headers_round_trip() -> None:
    headers = TransportHeaders("req-1", DigestAlgorithm.SHA512, "text/xml; charset=UTF-8", "7.8.0", '""')
    items = headers.items()
    assert ("x-hash-algorithm", "SHA-512") in items  # a name, not a URI
    assert TransportHeaders.read(dict(items)) == headers
    rest = TransportHeaders("r", rest=True)
    assert ("x-road-message-type", "REST") in rest.items()
    assert TransportHeaders.read({"X-Road-Request-Id": "r", "X-Road-Message-Type": "REST"}).rest
    with pytest.raises(XRoadFault):
        TransportHeaders.read({"x-hash-algorithm": "MD5"})


@pytest.mark.conformance(area="transport", vector="soap/queries/getstate.query")
def test_soap_with_ocsp_attachments_and_signature(getstate: bytes) -> None:
    attachments = [
        OutgoingAttachment((("Content-Type", "text/plain"), ("Content-ID", "<a@x>"), ("Client-Header", "FooBar")), [b"one", b"\r\n--x"]),
        OutgoingAttachment((("Content-Type", "application/octet-stream"),), [bytes(range(256))]),
    ]
    ctype, chunks = encode(
        SoapContent(getstate, "text/xml; charset=UTF-8", attachments), signature=SIGNATURE, ocsp_responses=[b"\x30\x03ocsp1", b"ocsp2"]
    )
    assert ctype.startswith("multipart/mixed;")
    data = _join(chunks)
    for piece in (data, list(chunked(data, 5))):
        message = decode(piece, ctype, role="request")
        assert message.ocsp_responses == (b"\x30\x03ocsp1", b"ocsp2")
        assert isinstance(message.soap, SoapMessage)
        assert message.soap.soap_bytes == getstate == message.message_bytes
        assert [a.read() for a in message.soap.attachments] == [b"one\r\n--x", bytes(range(256))]
        assert message.soap.attachments[0].headers.get("Client-Header") == "FooBar"
        assert message.signature == SIGNATURE


@pytest.mark.conformance(area="transport", vector="soap/queries/getstate.query")
def test_rest_request_and_response(getstate: bytes) -> None:
    part = request_header_part("POST", "/r1/EE/GOV/1/sub/svc", [("X-Road-Client", "EE/GOV/2/a")])
    body = b"z" * 200_000
    ctype, chunks = encode(RestContent(part, True, chunked(body, 1000)), signature=SIGNATURE, ocsp_responses=[b"o"])
    message = decode(chunked(_join(chunks), 4096), ctype, role="request")
    assert message.rest_header_part == part == message.message_bytes
    assert message.rest_request and message.soap is None
    assert message.rest_body is not None and message.rest_body.read() == body
    assert message.rest_body.sha512 == hashlib.sha512(body).digest()
    response = response_header_part(200, "OK", [("Content-Type", "text/plain")])
    ctype, chunks = encode(RestContent(response, False, None), signature=SIGNATURE)
    message = decode(_join(chunks), ctype, role="response")
    assert message.rest_header_part == response and not message.rest_request and message.rest_body is None


def test_hash_chain_parts(getstate: bytes) -> None:
    ctype, chunks = encode(
        SoapContent(getstate, "text/xml"), signature=SIGNATURE, hash_chain_result=b"<HashChainResult/>", hash_chain=b"<HashChain/>"
    )
    message = decode(_join(chunks), ctype, role="response")
    assert (message.hash_chain_result, message.hash_chain) == (b"<HashChainResult/>", b"<HashChain/>")
    with pytest.raises(ValueError):
        encode(SoapContent(getstate, "text/xml"), signature=SIGNATURE, hash_chain=b"x")
    with pytest.raises(ValueError):
        encode(SoapContent(getstate, "text/xml"), signature=SIGNATURE, fault=b"x")


def test_whole_text_xml_response_is_a_fault() -> None:
    fault = XRoadFault("server.serverproxy.access_denied", "no", correlation_id="c").to_soap()
    message = decode(fault, "text/xml; charset=UTF-8", role="response")
    assert message.fault is not None and message.fault.faultcode == "server.serverproxy.access_denied"
    with pytest.raises(XRoadFault) as info:
        decode(fault, "text/xml", role="request")
    assert info.value.fault_code == "invalid_content_type"


def _mixed(*parts: tuple[str, bytes]) -> tuple[str, bytes]:
    out = b""
    for ctype, body in parts:
        out += b"--B\r\nContent-Type: " + ctype.encode() + b"\r\n\r\n" + body + b"\r\n"
    return "multipart/mixed; boundary=B", out + b"--B--\r\n"


@pytest.mark.parametrize(
    "parts,code",
    [
        ((("application/x-unknown", b"x"),), "invalid_content_type"),
        ((("signature/bdoc-1.0/ts", b"sig"),), "missing_soap"),
        ((("text/xml", b"GETSTATE"), ("signature/bdoc-1.0/ts", b"s"), ("application/ocsp-response", b"o")), "invalid_message"),
        ((("text/xml", b"GETSTATE"), ("application/hash-chain-result", b"r"), ("signature/bdoc-1.0/ts", b"s")), "invalid_message"),
        ((("text/xml", b"GETSTATE"),), "missing_signature"),
        ((("application/x-road-rest-body", b"b"),), "invalid_content_type"),
    ],
    ids=["unknown-part", "no-message", "part-after-signature", "chain-result-alone", "no-signature", "body-without-header"],
)
@pytest.mark.conformance(area="transport", vector="soap/queries/getstate.query", expected="refused: {code}")
def test_malformed_proxy_messages(parts: tuple[tuple[str, bytes], ...], code: str, getstate: bytes) -> None:
    ctype, body = _mixed(*((t, getstate if b == b"GETSTATE" else b) for t, b in parts))
    with pytest.raises(XRoadFault) as info:
        decode(body, ctype, role="request")
    assert info.value.fault_code == code


def test_mime_level_errors(getstate: bytes) -> None:
    ctype, chunks = encode(SoapContent(getstate, "text/xml"), signature=SIGNATURE)
    data = _join(chunks)
    with pytest.raises(XRoadFault) as info:
        decode(data[: len(data) // 2], ctype)  # cut off mid-stream
    assert info.value.fault_code == "invalid_message"
    with pytest.raises(XRoadFault) as info:
        decode(data, "multipart/mixed")
    assert info.value.fault_code == "invalid_content_type"
    with pytest.raises(XRoadFault) as info:
        decode(data, "application/json")
    assert info.value.fault_code == "invalid_content_type"


def test_fault_instead_of_signature(getstate: bytes) -> None:
    fault = XRoadFault("server.serverproxy.cannot_create_signature", "x").to_soap()
    ctype, chunks = encode(SoapContent(getstate, "text/xml"), fault=fault)
    message = decode(_join(chunks), ctype, role="response")
    assert message.signature is None and message.fault is not None
    assert message.fault.faultcode == "server.serverproxy.cannot_create_signature"


@pytest.mark.conformance(area="transport", vector="soap/queries/attachm-mtom.query")
def test_original_content_type_kept(xroad: Path) -> None:
    raw = (xroad / "soap" / "queries" / "attachm-mtom.query").read_bytes()
    original = 'multipart/related; type="application/xop+xml"; boundary=jetty771207119h3h10dty'
    request = parse_soap(raw, original)
    assert isinstance(request, SoapMessage)
    content = SoapContent(
        request.soap_bytes, request.soap_content_type, [OutgoingAttachment.from_attachment(a) for a in request.attachments]
    )
    ctype, chunks = encode(content, signature=SIGNATURE)
    message = decode(_join(chunks), ctype, role="request", original_content_type=original)
    assert isinstance(message.soap, SoapMessage)
    assert message.soap.content_type == original and message.soap.mtom
    assert message.soap.attachments[0].content_id == request.attachments[0].content_id
    assert message.soap.attachments[0].read() == request.attachments[0].read()


def test_inbound_fault_translation() -> None:
    assert inbound_fault(XRoadFault("missing_signature", "m"), faults.SERVER_SERVERPROXY).fault_code == "server.serverproxy.missing_signature"
    assert inbound_fault(XRoadFault("invalid_soap", "m"), faults.SERVER_CLIENTPROXY).fault_code == (
        "server.clientproxy.service_failed.invalid_soap"
    )


@pytest.mark.conformance(area="transport", vector="soap/queries/getstate.query")
def test_wire_messages_carry_batch_hash_chains_and_the_parsed_soap(getstate: bytes) -> None:
    from gateway.net import Part, decode_message, encode_message

    soap = getstate
    ctype, body = encode_message([Part("text/xml; charset=UTF-8", soap)], signature=b"<sig/>",
                                 hash_chain_result=b"<result/>", hash_chain=b"<chain/>")
    got = decode_message(ctype, body, role="request", origin="server.serverproxy")
    assert (got.hash_chain_result, got.hash_chain, got.signature) == (b"<result/>", b"<chain/>", b"<sig/>")
    assert isinstance(got.soap, SoapMessage) and got.soap.soap_bytes == soap == got.message[0].data
    head = request_header_part("GET", "/r1/EE/GOV/1/sub/svc", [("X-Road-Client", "EE/GOV/2/c")])
    ctype, body = encode_message([Part("application/x-road-rest-request", head)], signature=b"<sig/>")
    got = decode_message(ctype, body, role="request", origin="server.serverproxy")
    assert got.hash_chain is None and got.hash_chain_result is None and got.soap is None
    with pytest.raises(ValueError):
        encode_message([Part("application/x-road-rest-request", head)], signature=b"<sig/>", hash_chain=b"<c/>")
