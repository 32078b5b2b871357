"""Damaged input never escapes as anything but an X-Road fault (a server must not crash).

Every SOAP vector and an encoded proxy message are truncated at many points and have
bytes flipped (deterministically seeded); the parsers must return a message or raise
:class:`XRoadFault`, nothing else.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import trust.protocol as transport
from trust.protocol import XRoadFault
from trust.protocol import SoapFaultMessage, SoapMessage, parse_soap
from trust.protocol.mime import chunked


def _variants(data: bytes, seed: int, count: int = 12) -> list[bytes]:
    rng = random.Random(seed)
    out = [data[:cut] for cut in sorted({rng.randrange(0, max(1, len(data))) for _ in range(count)})]
    for _ in range(count):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if damaged:
                damaged[rng.randrange(len(damaged))] = rng.choice(b"<>/:-\r\n\x00\xff\"'&=x")
        out.append(bytes(damaged))
    return out


def _content_type(data: bytes) -> str:
    if data.startswith(b"--"):
        return "multipart/related; boundary=" + data.split(b"\n", 1)[0][2:].strip().decode("latin-1")
    return "text/xml; charset=UTF-8"


def test_damaged_soap_messages(xroad: Path) -> None:
    files = sorted((xroad / "soap" / "queries").glob("*.query")) + sorted((xroad / "soap" / "queries").glob("*.answer"))
    checked = 0
    for seed, path in enumerate(files):
        original = path.read_bytes()
        if not original:
            continue
        ctype = _content_type(original)
        for data in _variants(original, seed):
            for role in ("request", "response"):
                try:
                    result = parse_soap(chunked(data, 61), ctype, role=role)  # type: ignore[arg-type]
                except XRoadFault:
                    continue
                assert isinstance(result, (SoapMessage, SoapFaultMessage))
                checked += 1
    assert checked > 100  # many variants still parse (e.g. damage inside text)


def test_damaged_proxy_messages(xroad: Path) -> None:
    soap = (xroad / "soap" / "queries" / "getstate.query").read_bytes()
    attachment = transport.OutgoingAttachment((("Content-Type", "text/plain"),), [b"attached"])
    ctype, chunks = transport.encode(
        transport.SoapContent(soap, "text/xml; charset=UTF-8", [attachment]), signature=b"<sig/>", ocsp_responses=[b"ocsp"]
    )
    original = b"".join(chunks)
    for data in _variants(original, 7, count=60):
        for role in ("request", "response"):
            try:
                transport.decode(chunked(data, 53), ctype, role=role)  # type: ignore[arg-type]
            except XRoadFault:
                pass


@pytest.mark.parametrize("ctype", ["", "text", "multipart/related", "multipart/related; boundary=", "text/xml; charset=\x00"])
def test_bad_content_types(ctype: str) -> None:
    with pytest.raises(XRoadFault):
        parse_soap(b"<x/>", ctype)
