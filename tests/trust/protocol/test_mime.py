"""The one multipart reader: a whole body with what lies outside its parts (split_multipart)."""

from __future__ import annotations

import pytest

from trust.protocol import MimeError
from trust.protocol.mime import MultipartReader, chunked, iter_parts, split_multipart

BODY = (
    b"the preamble\r\n--B\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nfirst\r\nline\r\n"
    b"--B\nContent-Type: application/octet-stream\n\n\x00\r\n\xff\n"
    b"--B--  \r\nthe epilogue\r\n"
)


def test_parts_keep_their_exact_bytes_and_the_outside_is_reported() -> None:
    whole = split_multipart(BODY, "B")
    assert [(h.content_type, body) for h, body in whole.parts] == [
        ("text/plain", b"first\r\nline"),
        ("application/octet-stream", b"\x00\r\n\xff"),
    ]
    assert whole.parts[0][0].raw == b"Content-Type: text/plain\r\nX-A: 1"
    assert (whole.preamble, whole.closed, whole.epilogue) == (b"the preamble\r", True, b"  \r\nthe epilogue\r\n")


def test_the_same_parts_as_the_streaming_reader_whatever_the_chunks() -> None:
    streamed = [(h.items, b.read()) for h, b in iter_parts(chunked(BODY, 7), "B", max_part_bytes=100)]
    assert [(h.items, body) for h, body in split_multipart(BODY, "B").parts] == streamed
    events = list(MultipartReader("B", whole=True).events(chunked(BODY, 3)))
    assert b"".join(v for k, v in events if k == "preamble") == b"the preamble\r"  # type: ignore[misc]
    assert b"".join(v for k, v in events if k == "epilogue") == b"  \r\nthe epilogue\r\n"  # type: ignore[misc]


def test_an_unclosed_body_keeps_its_last_part() -> None:
    whole = split_multipart(b"--B\r\nA: 1\r\n\r\nlast\r\n", "B")
    assert [body for _, body in whole.parts] == [b"last\r\n"] and not whole.closed and whole.epilogue == b""
    assert split_multipart(b"--B\r\n\r\n--B--", "B").parts[0][1] == b""
    with pytest.raises(MimeError, match="close delimiter"):  # the streaming reader still refuses it
        list(iter_parts(chunked(b"--B\r\nA: 1\r\n\r\nlast\r\n"), "B", max_part_bytes=100))


@pytest.mark.parametrize(("body", "reason"), [(b"no delimiter", "no_parts"), (b"--B--\r\n", "no_parts"),
                                              (b"--B\r\nbroken header\r\n\r\nx\r\n--B--", "malformed")])
def test_refusals(body: bytes, reason: str) -> None:
    with pytest.raises(MimeError) as info:
        split_multipart(body, "B")
    assert info.value.reason == reason


def test_a_whole_document_may_have_parts_of_header_lines_only() -> None:
    whole = split_multipart(b"--B\r\nA: 1\r\nB: 2\r\n--B\r\n--B\nC: 3\n\nbody\n--B\r\nD: 4\r\n--B--", "B")
    assert [(h.items, body) for h, body in whole.parts] == [
        ((("A", "1"), ("B", "2")), b""),
        ((), b""),
        ((("C", "3"),), b"body"),
        ((("D", "4"),), b""),
    ]
    assert whole.parts[0][0].raw == b"A: 1\r\nB: 2" and whole.closed
    with pytest.raises(MimeError):  # a message stream keeps refusing it
        list(iter_parts(chunked(b"--B\r\nA: 1\r\n--B--"), "B", max_part_bytes=100))
