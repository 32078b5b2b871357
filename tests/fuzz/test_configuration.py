"""Global configuration from outside: signed directories, parameter files, anchors.

Seeds are X-Road's own files (``conformance/xroad/globalconf``). Mutated as bytes (the
multipart envelope, headers, base64) and as trees (the parameter and anchor XML), every
reader answers a model or a :class:`~federation.model.ConfError`.
"""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from federation.anchor import parse_anchor
from federation.directory import parse_directory
from federation.model import (
    parse_fetch_interval_parameters, parse_monitoring_parameters, parse_next_update_parameters,
    parse_private_parameters, parse_shared_parameters,
)

from tests.fuzz.support import Seeds, answers, mutated, mutated_xml
from tests.support.conformance import XROAD

GC = XROAD / "globalconf"
DIRECTORIES = Seeds("signed directories", [p.read_bytes() for p in sorted((GC / "directories").glob("*.txt"))])
SHARED = Seeds("shared parameters", [p.read_bytes() for p in sorted(GC.glob("parsed/globalconf_good*/*/shared-params.xml"))
                                     if p.stat().st_size < 48 * 1024])
PRIVATE = Seeds("private parameters", [p.read_bytes() for p in sorted(GC.glob("parsed/globalconf_good*/*/private-params.xml"))])
SMALL = Seeds("monitoring, fetch interval, next update", [p.read_bytes() for p in sorted(GC.glob("parsed/*-params.xml"))])
ANCHORS = Seeds("anchors", [p.read_bytes() for p in sorted(GC.glob("anchors/*.xml")) + sorted(GC.glob("parsed/*anchor*.xml"))])
versions = st.sampled_from((None, 2, 3, 4, 5, 6, 7, 0))

_DIRECTORY_TOKENS = (b"\r\n", b"\n\n", b"--innerboundary", b"--envelopeboundary--", b"Expire-date: ", b"9999-99-99T",
                     b"Content-transfer-encoding: base64\n", b"Hash-algorithm-id: ", b"Verification-certificate-hash: ",
                     b"boundary=", b"==", b"\x00", b"version=")


@given(mutated(DIRECTORIES, tokens=_DIRECTORY_TOKENS))
@example(b"Content-Type: multipart/related; boundary=\xc4\x80b\n\n--b\n")  # U+0100: was a UnicodeEncodeError
def test_signed_directories_parse_or_answer_a_conf_error(data: bytes) -> None:
    answers(parse_directory, data)


@given(mutated_xml(SHARED) | mutated(SHARED), versions)
def test_shared_parameters_parse_or_answer_a_conf_error(data: bytes, version: int | None) -> None:
    answers(parse_shared_parameters, data, version=version)


@given(mutated_xml(PRIVATE) | mutated(PRIVATE), versions)
def test_private_parameters_parse_or_answer_a_conf_error(data: bytes, version: int | None) -> None:
    answers(parse_private_parameters, data, version=version)


@given(mutated_xml(SMALL) | mutated(SMALL))
def test_small_parameter_files_parse_or_answer_a_conf_error(data: bytes) -> None:
    for parse in (parse_monitoring_parameters, parse_fetch_interval_parameters, parse_next_update_parameters):
        answers(parse, data)


@given(mutated_xml(ANCHORS) | mutated(ANCHORS))
def test_anchors_parse_or_answer_a_conf_error(data: bytes) -> None:
    answers(parse_anchor, data)
