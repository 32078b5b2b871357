"""Finding the data subject in a request the server proxy has already read and checked.

Extraction runs after the exchange is on record, on what the proxy parsed anyway: the
SOAP envelope (parsed once by :func:`trust.infra.parse_xml`'s hardened parser, depth
and size bounded), or the REST request's path, query and headers as signed. Nothing is
parsed again here and nothing can reach outside the message: an XPath is compiled at
declaration (no variables, no extension functions beyond what the owner's namespaces
name) and evaluated with the SOAP ``Body`` as its context node. A result is an
identifier or nothing: at most :data:`MAX_SUBJECT` characters, never empty. Any
failure is an :class:`ExtractionFailed`, which the tracker logs and counts; the
client never sees it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from trust.protocol import SOAP_ENV_NS, ClientId, ServiceId, header_value

from gateway.errors import GatewayError

from ._rules import SubjectRule

if TYPE_CHECKING:
    from trust.protocol import SoapMessage

MAX_SUBJECT = 255


class ExtractionFailed(GatewayError):
    """The declared place holds no usable subject identifier (logged and counted, never shown to a client)."""

    code = "gateway.tracker.no_subject"


@dataclass(frozen=True)
class SeenRequest:
    """A served request as the tracker sees it: who asked for what, and the message as read."""

    kind: str  # SOAP | REST
    client: ClientId
    service: ServiceId
    query_id: str
    user_id: str | None = None
    issue: str | None = None
    soap: "SoapMessage | None" = None
    rest_path: str | None = None
    rest_query: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def extract_subject(rule: SubjectRule, seen: SeenRequest) -> str:
    """The subject identifier the rule finds in the request, or :class:`ExtractionFailed`."""
    if rule.source == "xpath":
        value = _from_xpath(rule, seen)
    elif rule.source == "path":
        value = _from_path(rule.expression, seen.rest_path)
    elif rule.source == "query":
        values = urllib.parse.parse_qs(seen.rest_query, keep_blank_values=False).get(rule.expression)
        value = values[0] if values else None
    elif seen.soap is not None:  # header, SOAP: an element of the SOAP header (signed with the message)
        value = _soap_header(seen.soap, rule.expression)
    else:
        value = header_value(list(seen.headers), rule.expression)
    value = (value or "").strip()
    if not value:
        raise ExtractionFailed(f"no {rule.source} subject ({rule.expression}) in the request")
    if len(value) > MAX_SUBJECT:
        raise ExtractionFailed(f"the {rule.source} subject is longer than {MAX_SUBJECT} characters")
    return value


def _from_xpath(rule: SubjectRule, seen: SeenRequest) -> str | None:
    if seen.soap is None or rule.compiled is None:
        raise ExtractionFailed("an XPath subject needs a SOAP request")
    body = seen.soap.envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    if body is None:
        raise ExtractionFailed("the SOAP envelope has no Body")
    try:
        result = rule.compiled(body)
    except etree.XPathError as exc:
        raise ExtractionFailed(f"the XPath failed: {exc}") from None
    first: object = (result[0] if result else None) if isinstance(result, list) else result
    if first is None:
        return None
    if isinstance(first, etree._Element):
        return _text(first)[:MAX_SUBJECT + 1]
    if isinstance(first, (str, bytes)):
        return first if isinstance(first, str) else first.decode("utf-8", "replace")
    raise ExtractionFailed("the XPath gives a number or a boolean, not an identifier")


def _from_path(template: str, path: str | None) -> str | None:
    """The segment of ``path`` at the template's ``{placeholder}``; literal segments must match."""
    if path is None:
        raise ExtractionFailed("a path subject needs a REST request")
    want = template.strip("/").split("/")
    got = path.strip("/").split("/")
    if len(got) < len(want):
        return None
    for pattern, segment in zip(want, got):
        if pattern.startswith("{"):
            return urllib.parse.unquote(segment)
        if pattern != "*" and pattern != segment:
            return None
    return None


def _soap_header(soap: "SoapMessage", name: str) -> str | None:
    header = soap.envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is None:
        return None
    for child in header:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return _text(child)
    return None


def _text(element: etree._Element) -> str:
    return "".join(t if isinstance(t, str) else t.decode("utf-8", "replace") for t in element.itertext())
