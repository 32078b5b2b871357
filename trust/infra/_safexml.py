"""The one place where XML from outside is parsed.

Everything untrusted (SOAP messages, configuration, anchors, signatures, WSDLs, ASiC
entries) goes through :func:`parse_xml`. It refuses, each with its own error:

* input larger than ``max_bytes`` (checked before any parsing);
* any document type declaration, internal or external: DTDs are where the
  billion-laughs, quadratic-blowup and external-entity attacks live, and no X-Road
  format uses one;
* entity references, external resources and network access (libxml2 is told not to
  resolve entities, load DTDs or touch the network);
* element nesting deeper than ``max_depth``;
* malformed XML, with libxml2's line and column.

The caller keeps the bytes it passed in: hashes are computed over those exact bytes,
never over a re-serialisation of the tree (DESIGN.md section 6, rule 6).
"""

from __future__ import annotations

import functools
import itertools
import threading
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from trust.errors import XmlError, XmlForbiddenConstruct, XmlSchemaError, XmlTooDeep, XmlTooLarge

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DEPTH = 128

_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


class _ThreadParsers(threading.local):
    """One parser per thread, built on first use.

    Building an ``XMLParser`` costs about as much as parsing a small SOAP message, and
    the hot path parses several per exchange. lxml parsers must not be shared between
    threads, but a thread may reuse its own: ``fromstring`` resets it for every
    document. (lxml already shares its name dictionary per thread, so reuse keeps
    nothing that a fresh parser would not.)
    """

    parser: etree.XMLParser | None = None


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        collect_ids=False,
    )


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    what: str = "XML document",
) -> etree._Element:
    """Parse untrusted XML bytes and return the root element.

    ``what`` names the document in error messages ("SOAP message", "anchor").
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_xml takes bytes; decode nothing before hashing or parsing")
    data = bytes(data)
    if len(data) > max_bytes:
        raise XmlTooLarge(f"{what} is {len(data)} bytes, more than the limit of {max_bytes}")
    if not data.strip():
        raise XmlError(f"{what} is empty")
    # Cheap early refusal; the docinfo check below is the authoritative one and
    # also catches encodings the markers do not cover.
    head = data[:65536]
    for marker in _DOCTYPE_MARKERS:
        if marker in head:
            raise XmlForbiddenConstruct(f"{what} contains a document type declaration, which is not allowed")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if "DOCTYPE" in message or "Entity" in message or "entity" in message:
            raise XmlForbiddenConstruct(f"{what} uses a DTD or entity: {message}") from exc
        raise XmlError(f"{what} is not well-formed XML: {message}") from exc
    except ValueError as exc:  # e.g. unicode strings with encoding declarations
        raise XmlError(f"{what} could not be parsed: {exc}") from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlForbiddenConstruct(f"{what} contains a document type declaration, which is not allowed")
    _check_tree(root, max_depth, what)
    return root


def _parser() -> etree.XMLParser:
    local = _PARSERS
    if local.parser is None:
        local.parser = _new_parser()
    return local.parser


_PARSERS = _ThreadParsers()


@functools.lru_cache(maxsize=16)
def _deeper_than(max_depth: int) -> etree.XPath:
    """An XPath that is true when some element lies deeper than ``max_depth`` (root = 1).

    Evaluated in libxml2, so the depth check costs microseconds instead of a Python
    walk over every element."""
    return etree.XPath("boolean(" + "*/" * (max_depth - 1) + "*)")


def _check_tree(root: etree._Element, max_depth: int, what: str) -> None:
    if max_depth < 1 or _deeper_than(max_depth)(root):
        raise XmlTooDeep(f"{what} nests elements deeper than {max_depth} levels")
    for _ in root.iter(etree.Entity):
        raise XmlForbiddenConstruct(f"{what} contains an entity reference, which is not allowed")


def load_schema(path: Path, *, url_map: dict[str, Path] | None = None) -> etree.XMLSchema:
    """Load a trusted XSD from local disk; imports of URLs in ``url_map`` go to local copies.

    Schemas are trusted files shipped with sild (or the conformance folder in
    tests), so they may import each other, but never from the network.
    """
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    if url_map:
        parser.resolvers.add(_LocalResolver(url_map))
    try:
        doc = etree.parse(str(path), parser=parser)
        return etree.XMLSchema(doc)
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as exc:
        raise XmlSchemaError(f"cannot load schema {path}: {exc}") from exc


class _LocalResolver(etree.Resolver):
    def __init__(self, url_map: dict[str, Path]) -> None:
        super().__init__()
        self._map = url_map

    def resolve(self, system_url: str, public_id: str, context: object) -> object:  # type: ignore[override]
        target = self._map.get(system_url)
        if target is not None:
            return self.resolve_filename(str(target), context)  # type: ignore[attr-defined]
        return None


MAX_SCHEMA_PROBLEMS = 3


def schema_problems(schema: etree.XMLSchema, element: etree._Element, *, limit: int = MAX_SCHEMA_PROBLEMS) -> list[str]:
    """Validate ``element``; return the first ``limit`` problems (``[]`` when valid), keeping none.

    lxml keeps every error of a validator's last run in its ``error_log``: one entry per
    bad attribute or value, about 900 bytes each, held until the next run. A schema kept
    per worker thread then holds the errors of the worst message that thread has seen: 1 MB
    of attributes held ~110 MB per thread (issue 15.3). So the few problems a message
    reports are copied out and the log is cleared (``_clear_error_log`` is lxml's own
    method for that; ``error_log`` itself hands out a copy). A problem reads
    ``line N: message``, or just the message for a tree built in memory (no line).
    """
    try:
        if schema.validate(element):
            return []
        log: Any = schema.error_log
        return [f"line {e.line}: {e.message}" if e.line else e.message for e in itertools.islice(log, limit)]
    finally:
        schema._clear_error_log()  # type: ignore[attr-defined]


def validate(element: etree._Element, schema: etree.XMLSchema, *, what: str = "XML document") -> None:
    """Validate ``element`` against ``schema``; raise :class:`XmlSchemaError` with the first problems."""
    problems = schema_problems(schema, element)
    if problems:
        raise XmlSchemaError(f"{what} does not validate against its schema: {'; '.join(problems)}")


def validator(schema: etree.XMLSchema, what: str) -> Callable[[etree._Element], None]:
    """A one-argument validation function, handy for tables of part types."""

    def check(element: etree._Element) -> None:
        validate(element, schema, what=what)

    return check
