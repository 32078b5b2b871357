"""Spooled part bodies (trust.protocol.mime): memory first, a file once large, hashed on the way."""

from __future__ import annotations

import hashlib
import io

import pytest

from trust.protocol import MimeError
from trust.protocol.mime import SPOOL_THRESHOLD, spool


def test_small_body_stays_in_memory_and_is_hashed() -> None:
    body = spool([b"ab", b"", b"cd"], limit=100)
    assert isinstance(body._file, io.BytesIO)
    assert body.size == 4 and body.read() == b"abcd"
    assert body.sha512 == hashlib.sha512(b"abcd").digest()
    assert b"".join(body.iter_chunks(3)) == b"abcd"
    body.close()


def test_large_body_goes_to_a_file_with_the_same_bytes_and_hash() -> None:
    chunks = [bytes([i]) * 65536 for i in range(SPOOL_THRESHOLD // 65536 + 2)]
    data = b"".join(chunks)
    body = spool(chunks, limit=len(data))
    assert not isinstance(body._file, io.BytesIO)
    assert body.size == len(data) and body.read() == data
    assert body.sha512 == hashlib.sha512(data).digest()
    body.close()


def test_limit_is_refused_as_too_large() -> None:
    with pytest.raises(MimeError) as info:
        spool([b"x" * 10, b"y"], limit=10, what="REST body")
    assert info.value.reason == "too_large" and "REST body" in str(info.value)
