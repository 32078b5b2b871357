"""The proxy message between gateways (multipart/mixed) and the MIME reader under it.

Seeds are messages the project's own encoder writes (:func:`trust.protocol.encode`): SOAP
with OCSP responses and attachments, REST requests and responses with bodies, faults, hash
chains. Mutated, and fed in chunks of any size (the reader is streaming: a boundary split
across two chunks must read the same), they must decode to a message or a fault.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, strategies as st

from trust.protocol import (
    OutgoingAttachment, RestContent, SoapContent, decode, encode, raw_headers, split_multipart,
)
from trust.protocol._rest import request_header_part, response_header_part
from trust.protocol.mime import MimeError, chunked, parse_content_type

from tests.fuzz.support import Seeds, answers, mutated
from tests.support.conformance import XROAD

BOUNDARY = "xroadfuzzboundary"
SIGNATURE = b'<?xml version="1.0"?><asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#"/>'
_GETSTATE = (XROAD / "soap" / "queries" / "getstate.query").read_bytes()
_FAULT = (b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
          b'<SOAP-ENV:Fault><faultcode>Server.x</faultcode><faultstring>no</faultstring></SOAP-ENV:Fault>'
          b'</SOAP-ENV:Body></SOAP-ENV:Envelope>')


def _encoded(content: Any, **kw: Any) -> bytes:
    ctype, chunks = encode(content, boundary=BOUNDARY, **kw)
    assert parse_content_type(ctype).boundary == BOUNDARY
    return b"".join(chunks)


def _seeds() -> Seeds:
    attachment = OutgoingAttachment((("Content-Type", "text/plain"), ("Content-ID", "<a@x>")), [b"one\r\n--x"])
    rest = request_header_part("POST", "/r1/EE/GOV/1/sub/svc", [("X-Road-Client", "EE/GOV/2/a")])
    return Seeds("encoded proxy messages", [
        _encoded(SoapContent(_GETSTATE, "text/xml; charset=UTF-8", [attachment]), signature=SIGNATURE,
                 ocsp_responses=[b"\x30\x03ocsp", b"o2"]),
        _encoded(SoapContent(_GETSTATE, "text/xml; charset=UTF-8"), signature=SIGNATURE,
                 hash_chain_result=b"<hcr/>", hash_chain=b"<hc/>"),
        _encoded(RestContent(rest, True, [b"z" * 300]), signature=SIGNATURE, ocsp_responses=[b"o"]),
        _encoded(RestContent(response_header_part(200, "OK", [("Content-Type", "text/plain")]), False, None),
                 signature=SIGNATURE),
        _encoded(None, fault=_FAULT),
    ])


SEEDS = _seeds()
CONTENT_TYPE = f"multipart/mixed; charset=UTF-8; boundary={BOUNDARY}"


def _decode_fully(data: bytes, chunk: int, role: str) -> object:
    message = decode(chunked(data, chunk), CONTENT_TYPE, role=role)  # type: ignore[arg-type]
    if message.soap is not None and hasattr(message.soap, "attachments"):
        for attachment in message.soap.attachments:
            attachment.read()
    if message.rest_body is not None:
        message.rest_body.read()
    return message


@given(mutated(SEEDS, tokens=(b"\r\n--" + BOUNDARY.encode(), b"--" + BOUNDARY.encode() + b"--", b"\r\n",
                              b"Content-Type: multipart/mixed; boundary=x\r\n", b"Content-Transfer-Encoding: base64\r\n",
                              b"\r\n\r\n", b"\x00", b"--")),
       st.sampled_from((1, 7, 64, 4096)), st.sampled_from(("request", "response")))
def test_proxy_messages_decode_to_a_message_or_a_fault(data: bytes, chunk: int, role: str) -> None:
    answers(_decode_fully, data, chunk, role)


@given(st.sampled_from(SEEDS), st.text(max_size=100))
@example(SEEDS[0], "multipart/mixed; boundary=\u0100")  # not Latin-1: was a UnicodeEncodeError
def test_any_content_type_decodes_to_a_message_or_a_fault(data: bytes, content_type: str) -> None:
    answers(decode, data, content_type, role="request")


@given(mutated(SEEDS), st.sampled_from((BOUNDARY, "x", "xroad", BOUNDARY + "z")))
def test_the_whole_multipart_reader_answers_parts_or_a_mime_error(data: bytes, boundary: str) -> None:
    answers(split_multipart, data, boundary, documented=(MimeError,))


@given(st.binary(max_size=400) | mutated(Seeds("part headers", [b"Content-Type: text/xml\r\nContent-ID: <a@b>\r\n",
                                                                   b"X: y\r\n z\r\n"])))
def test_part_headers_answer_headers_or_a_mime_error(raw: bytes) -> None:
    answers(raw_headers, raw, documented=(MimeError,))
