"""What every fuzz property shares: the one oracle, and mutations of valid messages.

The oracle (:func:`answers`): a parser at a trust boundary answers with a value or with
one of sild's errors (a :class:`~trust.errors.SildError`), never with another exception,
and one call does not raise the process's memory high-water mark by more than
:data:`MEMORY_BUDGET_MB` (time is bounded by the Hypothesis deadline of the profile).

Inputs start from valid messages that the project's own builders or X-Road's conformance
vectors provide, then are mutated: bytes flipped, inserted, cut, duplicated, or X-Road
tokens spliced in (:func:`mutated`), or, for XML, the tree edited (:func:`mutated_xml`),
so most cases get past the first check and reach the deeper ones.
"""

from __future__ import annotations

import copy
import resource
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from lxml import etree

from trust.errors import SildError

T = TypeVar("T")
MEMORY_BUDGET_MB = 64
MAX_INPUT = 64 * 1024  # mutated inputs stay small: the size limits have tests of their own

TOKENS = (
    b"\x00", b"\r\n", b"\r\n\r\n", b"--", b"<", b">", b"&", b"&amp;", b"&#0;", b"]]>", b"<!DOCTYPE a>",
    b"<!ENTITY e 'x'>", b"<?xml version='1.0'?>", b"\xef\xbb\xbf", b"\xff\xfe", b"%", b"%2e", b"%00", b"/", b"..",
    b":", b";", b'"', b"=", b"boundary=", b"charset=", b"Content-Type: ", b"\x80", b"\xc3", b"\xf0\x9f\x98",
    b"9" * 40, b"-1", b"\x30\x82\xff\xff", b"\x30\x80", b"\x02\x01\x00", b"\x05\x00", b"\x06\x03\x55\x04\x03",
)


class Seeds(tuple):  # type: ignore[type-arg]
    """Valid inputs to start from, named: Hypothesis shows the name, not kilobytes of seeds."""

    def __new__(cls, name: str, items: Sequence[bytes]) -> "Seeds":
        seeds = super().__new__(cls, items)
        seeds.name = name
        return seeds

    def __repr__(self) -> str:
        return f"<{len(self)} {self.name}>"


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def answers(parse: Callable[..., T], *args: Any, documented: tuple[type[Exception], ...] = (),
            **kwargs: Any) -> T | Exception:
    """``parse(*args, **kwargs)``, or the :class:`SildError` it raised; anything else fails the property.

    ``documented`` names the few errors of inner readers that are not sild's on purpose
    (the MIME reader's ``MimeError``, which every boundary above it translates)."""
    before = _max_rss_mb()
    result: T | Exception
    try:
        result = parse(*args, **kwargs)
    except (SildError, *documented) as error:
        assert str(error), f"{type(error).__name__} without a message"
        result = error
    grown = _max_rss_mb() - before
    assert grown < MEMORY_BUDGET_MB, f"one call raised the memory high-water mark by {grown:.0f} MB"
    return result


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], tokens: Sequence[bytes] = TOKENS) -> bytes:
    """One of ``seeds`` with one to four byte-level edits."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        at = draw(st.integers(0, size))
        edit = draw(st.sampled_from(("flip", "insert", "cut", "repeat", "token", "truncate")))
        if edit == "flip" and size:
            at = min(at, size - 1)
            data[at] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif edit == "repeat" and size:
            piece = data[at:at + draw(st.integers(1, 64))]
            data[at:at] = piece * draw(st.integers(1, 8))
        elif edit == "token":
            data[at:at] = draw(st.sampled_from(tokens))
        elif edit == "truncate":
            del data[at:]
    return bytes(data[:MAX_INPUT])


@st.composite
def mutated_xml(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """One of ``seeds`` (XML) with one to three edits of its tree: elements removed, repeated,
    renamed, moved into another namespace, given other text or attributes."""
    root = etree.fromstring(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        elements = [el for el in root.iter() if isinstance(el.tag, str)]
        element = elements[draw(st.integers(0, len(elements) - 1))]  # not sampled_from: it caches by value
        parent = element.getparent()
        edit = draw(st.sampled_from(("remove", "repeat", "text", "rename", "namespace", "attribute", "empty")))
        if edit == "remove" and parent is not None:
            parent.remove(element)
        elif edit == "repeat" and parent is not None:
            for _ in range(draw(st.integers(1, 3))):
                parent.insert(parent.index(element), copy.deepcopy(element))
        elif edit == "text":
            element.text = draw(st.text(max_size=40).filter(_xml_safe))
        elif edit == "rename":
            element.tag = etree.QName(etree.QName(element).namespace, draw(_names)).text
        elif edit == "namespace":
            element.tag = etree.QName(draw(st.sampled_from(("urn:other", ""))) or None,
                                      etree.QName(element).localname).text
        elif edit == "attribute":
            element.set(draw(_names), draw(st.text(max_size=20).filter(_xml_safe)))
        elif edit == "empty":
            for child in list(element):
                element.remove(child)
            element.text = None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,12}\Z")


def _xml_safe(text: str) -> bool:
    try:
        etree.Element("x").text = text
    except ValueError:
        return False
    return True
