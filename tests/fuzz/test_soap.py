"""SOAP messages from outside: the envelope, X-Road's SOAP header, SwA and MTOM multiparts.

Seeds are X-Road's own test messages (``conformance/xroad/soap/queries``); the properties
run them through :func:`trust.protocol.parse_soap` as requests and as answers, mutated as
bytes, as trees (the header's fields removed, repeated, renamed, emptied) and with any
Content-Type.
"""

from __future__ import annotations

from hypothesis import example, given, strategies as st
from lxml import etree

from trust.protocol import parse_soap, read_header

from tests.fuzz.support import Seeds, answers, mutated, mutated_xml
from tests.support.conformance import XROAD
from tests.support.soap_scenarios import MTOM_REQ, default_type

QUERIES = XROAD / "soap" / "queries"
_FILES = sorted(p for p in QUERIES.iterdir() if p.is_file() and p.stat().st_size <= 32 * 1024)
SEEDS = Seeds("X-Road test messages", [p.read_bytes() for p in _FILES])
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _well_formed(data: bytes) -> bool:
    try:
        return etree.fromstring(data).tag == f"{{{_SOAP}}}Envelope"
    except etree.XMLSyntaxError:
        return False


XML_SEEDS = Seeds("X-Road SOAP envelopes", [s for s in SEEDS if not s.startswith(b"--") and _well_formed(s)])
CONTENT_TYPES = sorted({default_type(s) for s in SEEDS} | {MTOM_REQ, "text/xml", "application/soap+xml"})
roles = st.sampled_from(("request", "response"))


def _content_type(data: bytes) -> str:
    """What the sender would declare: the boundary of the first line (mutated too), else text/xml."""
    return default_type(data.decode("latin-1").encode()) if data.startswith(b"--") else "text/xml; charset=UTF-8"


@given(mutated(SEEDS), roles)
def test_soap_bytes_answer_a_message_or_a_fault(data: bytes, role: str) -> None:
    answers(parse_soap, data, _content_type(data), role=role)


@given(mutated_xml(XML_SEEDS), roles)
def test_soap_trees_answer_a_message_or_a_fault(data: bytes, role: str) -> None:
    answers(parse_soap, data, "text/xml; charset=UTF-8", role=role)


@given(st.sampled_from(SEEDS), st.one_of(st.text(max_size=120), mutated(Seeds("content types", [c.encode() for c in CONTENT_TYPES])).map(
    lambda b: b.decode("latin-1"))))
@example(SEEDS[0], "multipart/related; boundary=\u0100")  # not Latin-1: was a UnicodeEncodeError
def test_any_content_type_answers_a_message_or_a_fault(data: bytes, content_type: str) -> None:
    answers(parse_soap, data, content_type)


@given(mutated_xml(XML_SEEDS), roles)
def test_the_header_reader_answers_a_header_or_a_fault(data: bytes, role: str) -> None:
    header = etree.fromstring(data).find(f"{{{_SOAP}}}Header")
    if header is not None:
        answers(read_header, header, role=role)
