"""Reading a peer's OCSP-responses answer: trust.protocol's MIME reader, the answer's rules."""

from __future__ import annotations

import base64

import pytest

from gateway.errors import GatewayError
from gateway.net._ocsp_endpoint import ocsp_multipart
from gateway.net._peer_transport import parse_ocsp_multipart

DER = [b"\x30\x03\x0a\x01\x00", b"\x30\r\n\x0a\n--x\x00\xff" * 50]


def test_what_the_endpoint_writes_reads_back_byte_for_byte() -> None:
    content_type, body = ocsp_multipart(DER)
    assert parse_ocsp_multipart(content_type, body) == DER
    unclosed = body[: body.rindex(b"\r\n--")]  # the last part kept, as the email parser did
    assert parse_ocsp_multipart(content_type, unclosed) == DER


def test_other_parts_are_skipped_and_base64_parts_decoded() -> None:
    body = (
        b"preamble\r\n--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--B\r\ncontent-type: Application/OCSP-Response\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(DER[0]) + b"\r\n"
        b"--B\nContent-Type: application/ocsp-response\n\n" + DER[0] + b"\n--B--\r\n"
    )
    assert parse_ocsp_multipart('multipart/related; boundary="B"', body) == [DER[0], DER[0]]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/ocsp-response", b"--B\r\n\r\n--B--"),
        ("", b"--B\r\n\r\n--B--"),
        ("multipart/related", b"--B\r\n\r\n--B--"),
        ("multipart/related; boundary=B", b"garbage"),
        ("multipart/related; boundary=B", b"--B--\r\n"),
    ],
)
def test_an_answer_that_is_not_multipart_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(GatewayError) as info:
        parse_ocsp_multipart(content_type, body)
    assert info.value.code == "gateway.peer.ocsp_malformed"
    assert str(info.value) == "OCSP responses answer is not multipart"
