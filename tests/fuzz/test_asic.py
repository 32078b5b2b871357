"""ASiC-E containers from outside (message log exports a verifier is handed), mutated.

Seeds are X-Road's own containers (``conformance/xroad/asic``). Two levels: the zip as
bytes (:func:`trust.evidence.read_container`), and one entry of a well-formed zip edited
(the XAdES signature as a tree, the message, hash chains, the timestamp token as bytes)
and the whole container verified against X-Road's trust policy for it.
"""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, strategies as st
from lxml import etree

from trust.xades import AsicError, parse_signature
from trust.evidence import read_container, verify_container

from tests.fuzz.support import Seeds, answers, mutated, mutated_xml
from tests.support.conformance import XROAD
from tests.support.evidence_pki import policies_for_tree

ASIC = XROAD / "asic"
CONTAINERS = Seeds("ASiC containers", [p.read_bytes() for p in sorted(ASIC.glob("*.asice"))])
POLICIES = policies_for_tree(XROAD / "globalconf" / "parsed" / "globalconf_good2_v3")


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _is_xml(body: bytes) -> bool:
    try:
        etree.fromstring(body)
    except etree.XMLSyntaxError:
        return False
    return True


def _zipped(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in entries:
            archive.writestr(name, body, compress_type=zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return out.getvalue()


@given(mutated(CONTAINERS, tokens=(b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\xff\xff\xff\xff", b"../", b"/")))
def test_container_bytes_read_or_answer_an_asic_error(data: bytes) -> None:
    answers(read_container, data)


@given(st.data())
def test_containers_with_an_edited_entry_verify_or_answer_a_sild_error(data: st.DataObject) -> None:
    entries = _entries(data.draw(st.sampled_from(CONTAINERS)))
    index = data.draw(st.integers(0, len(entries) - 1))
    name, body = entries[index]
    seed = Seeds(name, [body])
    edited = data.draw(mutated_xml(seed) | mutated(seed) if _is_xml(body) else mutated(seed))
    entries[index] = (data.draw(st.sampled_from((name, name, name, "../" + name, name.upper()))), edited)
    answers(verify_container, _zipped(entries), POLICIES)


# -- what the properties found: damaged archives that escaped as zipfile's other errors ---------

def _with_message(message: bytes) -> tuple[bytes, zipfile.ZipInfo]:
    data = _zipped([("mimetype", b"application/vnd.etsi.asic-e+zip"), ("message.xml", message)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return data, archive.getinfo("message.xml")


def test_a_damaged_deflate_stream_is_an_asic_error() -> None:
    data, info = _with_message(b"<message>" + b"x" * 400 + b"</message>")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    damaged = data[:start] + b"\xff" * 8 + data[start + 8:]  # was zlib.error
    try:
        read_container(damaged)
    except AsicError as error:
        assert "message.xml" in str(error)
    else:
        raise AssertionError("a damaged entry was read")


def test_an_encrypted_entry_is_an_asic_error() -> None:
    data, _ = _with_message(b"<message/>")
    central = data.rindex(b"PK\x01\x02")  # the last central directory entry: message.xml
    flags = central + 8
    encrypted = data[:flags] + bytes([data[flags] | 1]) + data[flags + 1:]  # was RuntimeError
    try:
        read_container(encrypted)
    except AsicError as error:
        assert "message.xml" in str(error)
    else:
        raise AssertionError("an encrypted entry was read")


SIGNATURES = Seeds("XAdES signatures", [p.read_bytes() for p in sorted((XROAD / "signatures").glob("sign-*.xml"))])


@given(mutated_xml(SIGNATURES) | mutated(SIGNATURES))
def test_signature_documents_parse_or_answer_a_signature_error(data: bytes) -> None:
    answers(parse_signature, data)
