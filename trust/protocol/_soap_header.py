"""The X-Road header of a SOAP 4.0 message (NOTES 2): its fields and how they are read.

Header fields live in ``http://x-road.eu/xsd/xroad.xsd`` (any prefix, or a default
namespace), the represented party in the representation extension's namespace and the
security token in its own. Other SOAP header elements pass end to end untouched.
A duplicate X-Road field is ``duplicate_header_field``, a missing mandatory one
``missing_header_field``, a ``protocolVersion`` other than ``4.0`` is
``invalid_protocol_version`` (X-Road checks only the prefix ``4.``, so ``4.0junk`` passed
there; no other 4.x version exists) and a malformed identifier ``invalid_xml`` (X-Road
validates the header against its schema there). A text field longer than
:data:`MAX_FIELD_CHARS` (an ``id`` of 1,000 characters, say) or an empty ``id`` is
``invalid_request``: refused while the header is read, before anything is signed or
logged, because the message log and operational monitoring keep these fields in
255-character columns as X-Road does. Codes carry no origin; the proxy adds it.

This is the one reader of these fields in sild: the gateway's SOAP parser, the adapter
that stands in for a provider IS and the evidence verifier that asks who signed a
logged message all call :func:`read_header` or, when they need less, :func:`header_fields`.
Its refusals are :class:`HeaderFault` exceptions that also name the field and the bare reason,
so a caller with its own fault vocabulary (the adapter) can word its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, TypeVar

from lxml import etree

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from trust.errors import IdentifierError
from ._identifiers import ClientId, RepresentedParty, SecurityServerId, ServiceId
from ._identifiers_xml import client_from_xml, server_from_xml, service_from_xml

from ._namespaces import REPRESENTATION_NS as REPR_NS, SECURITY_TOKEN_NS as TOKEN_NS, XROAD_NS

SHA512_URI = "http://www.w3.org/2001/04/xmlenc#sha512"
PROTOCOL_VERSION = "4.0"
# id, userId, issue and protocolVersion: X-Road's message log and op monitoring keep them
# in varchar(255) columns; sild's do the same
MAX_FIELD_CHARS = 255
MAX_TOKEN_CHARS = 64 * 1024  # a security token (a JWT) passes through; bounded all the same

Role = Literal["request", "response"]


class HeaderFault(XRoadFault):
    """A refused X-Road header; ``field`` is the header field's local name (for a
    missing one, the first missing), ``reason`` the bare cause: the unsupported version
    or the identifier's error text (empty for a duplicate or missing field)."""

    def __init__(self, code: str, message: str, *, field: str, reason: str = "") -> None:
        super().__init__(code, message)
        self.field = field
        self.reason = reason


def _text(element: etree._Element) -> str:
    if len(element) == 0:  # the usual case: text only, no child elements or comments
        return element.text or ""
    return "".join(str(t) for t in element.itertext())


@dataclass(frozen=True)
class RequestHash:
    value: str
    algorithm_id: str = SHA512_URI


@dataclass(frozen=True)
class SecurityToken:
    token: str
    token_type: str | None = None


@dataclass(frozen=True)
class XRoadHeader:
    """The X-Road header fields of a SOAP message (NOTES 2)."""

    client: ClientId
    service: ServiceId
    query_id: str
    protocol_version: str
    user_id: str | None = None
    issue: str | None = None
    request_hash: RequestHash | None = None
    security_server: SecurityServerId | None = None
    represented_party: RepresentedParty | None = None
    security_token: SecurityToken | None = None


_XROAD_FIELDS = {
    (XROAD_NS, "client"),
    (XROAD_NS, "service"),
    (XROAD_NS, "id"),
    (XROAD_NS, "userId"),
    (XROAD_NS, "issue"),
    (XROAD_NS, "protocolVersion"),
    (XROAD_NS, "requestHash"),
    (XROAD_NS, "securityServer"),
    (REPR_NS, "representedParty"),
    (TOKEN_NS, "securityToken"),
}


def header_fields(header_el: etree._Element) -> dict[str, etree._Element]:
    """The X-Road fields of a SOAP Header by local name, each at most once.

    Only the elements of :data:`_XROAD_FIELDS` count; other header elements pass
    untouched. A field that occurs twice is ``duplicate_header_field``."""
    found: dict[str, etree._Element] = {}
    for child in header_el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        namespace, _, localname = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
        if (namespace, localname) not in _XROAD_FIELDS:
            continue
        if localname in found:
            raise HeaderFault(faults.DUPLICATE_HEADER_FIELD, f"duplicate header field {localname!r}", field=localname)
        found[localname] = child
    return found


def read_header(header_el: etree._Element, *, role: Role = "request") -> XRoadHeader:
    """The X-Road fields of a SOAP Header; other header elements pass untouched."""
    found = header_fields(header_el)
    # X-Road's parser requires service in responses too (AttachmentFaultySoapResponse)
    missing = [name for name in ("client", "service", "id", "protocolVersion") if name not in found]
    if missing:
        message = f"required header field(s) missing: {', '.join(missing)}"
        raise HeaderFault(faults.MISSING_HEADER_FIELD, message, field=missing[0])
    version = _text(found["protocolVersion"]).strip()
    if version != PROTOCOL_VERSION:
        message = f"unsupported protocol version {version[:40]!r}; X-Road's message protocol is {PROTOCOL_VERSION}"
        raise HeaderFault(faults.INVALID_PROTOCOL_VERSION, message, field="protocolVersion", reason=version[:40])
    _check_sizes(found)
    client = _identifier(found, "client", client_from_xml)
    service = _identifier(found, "service", service_from_xml)
    server = _identifier(found, "securityServer", server_from_xml) if "securityServer" in found else None
    party = _identifier(found, "representedParty", _represented_party) if "representedParty" in found else None
    request_hash = None
    if "requestHash" in found:
        element = found["requestHash"]
        request_hash = RequestHash(_text(element).strip(), element.get("algorithmId") or SHA512_URI)
    token = None
    if "securityToken" in found:
        element = found["securityToken"]
        token = SecurityToken(_text(element).strip(), element.get("tokenType"))

    def optional(name: str) -> str | None:
        return _text(found[name]) if name in found else None

    return XRoadHeader(
        client=client,
        service=service,
        query_id=_text(found["id"]).strip(),
        protocol_version=version,
        user_id=optional("userId"),
        issue=optional("issue"),
        request_hash=request_hash,
        security_server=server,
        represented_party=party,
        security_token=token,
    )


_T = TypeVar("_T")


def _check_sizes(found: dict[str, etree._Element]) -> None:
    """Text fields within their bounds and ``id`` not empty (``invalid_request`` otherwise)."""
    for name in ("id", "userId", "issue"):
        if name in found and len(_text(found[name])) > MAX_FIELD_CHARS:
            message = f"header field {name!r} is longer than {MAX_FIELD_CHARS} characters"
            raise HeaderFault(faults.INVALID_REQUEST, message, field=name,
                              reason=f"longer than {MAX_FIELD_CHARS} characters")
    if not _text(found["id"]).strip():
        raise HeaderFault(faults.INVALID_REQUEST, "header field 'id' is empty", field="id", reason="empty")
    if "securityToken" in found and len(_text(found["securityToken"])) > MAX_TOKEN_CHARS:
        message = f"header field 'securityToken' is longer than {MAX_TOKEN_CHARS} characters"
        raise HeaderFault(faults.INVALID_REQUEST, message, field="securityToken",
                          reason=f"longer than {MAX_TOKEN_CHARS} characters")


def _identifier(found: dict[str, etree._Element], name: str, read: Callable[[etree._Element], _T]) -> _T:
    """Field ``name`` read by ``read``; a malformed identifier is ``invalid_xml``."""
    try:
        return read(found[name])
    except IdentifierError as exc:
        message = f"malformed identifier in the SOAP header: {exc}"
        raise HeaderFault(faults.INVALID_XML, message, field=name, reason=str(exc)) from None


def _represented_party(element: etree._Element) -> RepresentedParty:
    values: dict[str, str] = {}
    for child in element:
        if isinstance(child.tag, str):
            values[etree.QName(child).localname] = _text(child).strip()
    if "partyCode" not in values:
        raise IdentifierError("representedParty has no partyCode")
    return RepresentedParty(values["partyCode"], values.get("partyClass"))
