"""SOAP message protocol 4.0: read an X-Road SOAP message from its exact bytes.

:func:`parse_soap` takes the HTTP body (as bytes or an iterable of chunks) and its
``Content-Type`` and returns a frozen :class:`SoapMessage` (or :class:`SoapFaultMessage`
when the body is a SOAP Fault). The SOAP part's bytes are kept exactly as received:
X-Road's ``requestHash``, the signature's ``/message.xml`` digest and the message log
all cover those bytes (NOTES 2, 7, 9.1), so nothing here re-serialises XML.

Every refusal is an :class:`~trust.protocol._faults.XRoadFault` *without* an origin prefix
(``missing_header_field``), like X-Road's parser; the proxy that called decides who
failed: ``fault.at("client")`` for IS input, ``fault.service_failed("server.serverproxy")``
for a provider's answer.

Attachments (SwA ``multipart/related`` with swaRef, and MTOM with ``application/xop+xml``
root parts) are kept with their MIME headers; their bodies are spooled (memory bounded)
and hashed while read. The values returned live in :mod:`._soap_message`.
"""

from __future__ import annotations

import codecs
import re
from typing import Iterable

from lxml import etree

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from .mime import ContentType, MimeError, parse_content_type
from .mime import PartHeaders, chunked, iter_parts
from ._namespaces import REPRESENTATION_NS as REPR_NS, SECURITY_TOKEN_NS as TOKEN_NS, SOAP_ENV_NS, XROAD_NS
from ._soap_header import SHA512_URI, RequestHash, Role, SecurityToken, XRoadHeader, read_header
from ._soap_message import XOP_NS, Attachment, SoapFaultMessage, SoapMessage
from .mime import PartBody
from trust.errors import XmlError
from trust.infra import parse_xml

__all__ = [
    "REPR_NS",
    "SHA512_URI",
    "SOAP_ENV_NS",
    "TOKEN_NS",
    "XROAD_NS",
    "XOP_NS",
    "Attachment",
    "RequestHash",
    "SecurityToken",
    "SoapFaultMessage",
    "SoapMessage",
    "XRoadHeader",
    "check_http_method",
    "check_soap_action",
    "parse_soap",
    "parse_soap_part",
    "read_header",
]

DEFAULT_MAX_SOAP_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024 * 1024

SOAP_PART_TYPES = ("text/xml", "application/xop+xml")
# Charsets whose ASCII range is single-byte ASCII: byte-level header edits stay valid.
_ASCII_COMPATIBLE = {"utf-8", "iso8859-1", "ascii", "iso8859-15", "cp1252", "iso8859-2", "iso8859-13", "cp1257"}


def _fault(code: str, message: str) -> XRoadFault:
    return XRoadFault(code, message)


# -- entry point -------------------------------------------------------------------------


def parse_soap(
    body: bytes | Iterable[bytes],
    content_type: str | None,
    *,
    role: Role = "request",
    max_soap_bytes: int = DEFAULT_MAX_SOAP_BYTES,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> SoapMessage | SoapFaultMessage:
    """Read an X-Road SOAP message (plain, SwA or MTOM) from its bytes and Content-Type.

    ``role`` picks the rule that differs: an unusable multipart answer is
    ``invalid_message`` (a request's is ``missing_soap``).
    """
    try:
        ctype = parse_content_type(content_type)
    except MimeError as exc:
        raise _fault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
    chunks = chunked(bytes(body)) if isinstance(body, (bytes, bytearray, memoryview)) else body
    if ctype.media_type == "text/xml":
        data = _read_bounded(chunks, max_soap_bytes)
        return _parse_soap_part(data, ctype, ctype, role=role, attachments=(), multipart=False)
    if ctype.media_type == "multipart/related":
        return _parse_multipart(chunks, ctype, role, max_soap_bytes, max_attachment_bytes)
    raise _fault(faults.INVALID_CONTENT_TYPE, f"invalid content type {ctype.media_type!r} for a SOAP message")


def _read_bounded(chunks: Iterable[bytes], limit: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out.extend(chunk)
        if len(out) > limit:
            raise _fault(faults.INVALID_MESSAGE, f"SOAP message is larger than the limit of {limit} bytes")
    return bytes(out)


def _parse_multipart(
    chunks: Iterable[bytes], ctype: ContentType, role: Role, max_soap: int, max_attach: int
) -> SoapMessage | SoapFaultMessage:
    boundary = ctype.boundary
    if not boundary:
        raise _fault(faults.INVALID_CONTENT_TYPE, "multipart content type has no boundary")
    soap: tuple[PartHeaders, bytes] | None = None
    attachments: list[Attachment] = []

    def check(headers: PartHeaders, index: int) -> None:
        type_text = headers.content_type
        if type_text is None:
            what = "the SOAP part" if index == 0 else "an attachment part"
            raise _fault(faults.INVALID_CONTENT_TYPE, f"{what} has no Content-Type")
        media = parse_content_type(type_text).media_type
        if index == 0 and media not in SOAP_PART_TYPES:
            raise _fault(faults.INVALID_CONTENT_TYPE, f"the first MIME part must be SOAP, not {media!r}")

    try:
        parts = iter_parts(chunks, boundary, max_part_bytes=max(max_soap, max_attach), on_headers=check)
        for headers, part in parts:
            if soap is None:
                if part.size > max_soap:
                    raise _fault(faults.INVALID_MESSAGE, "SOAP part is larger than the limit")
                soap = (headers, part.read())
                part.close()
                continue
            attachments.extend(_attachments(headers, part, max_attach))
    except MimeError as exc:
        if exc.reason == "content_type":
            raise _fault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
        if exc.reason == "no_parts" and role == "request":
            raise _fault(faults.MISSING_SOAP, "the multipart message has no SOAP part") from None
        raise _fault(faults.INVALID_MESSAGE, f"malformed multipart message: {exc}") from None
    if soap is None:
        code = faults.MISSING_SOAP if role == "request" else faults.INVALID_MESSAGE
        raise _fault(code, "the multipart message has no SOAP part")
    headers, data = soap
    part_type = parse_content_type(headers.content_type)
    return _parse_soap_part(
        data, ctype, part_type, role=role, attachments=tuple(attachments), multipart=True, part_headers=headers.items
    )


def _attachments(headers: PartHeaders, part: PartBody, max_attach: int) -> list[Attachment]:
    """An attachment part; a nested ``multipart/*`` part is unpacked (its parts' headers kept)."""
    type_text = headers.content_type
    if type_text is None:
        part.close()
        raise _fault(faults.INVALID_CONTENT_TYPE, "an attachment part has no Content-Type")
    ctype = parse_content_type(type_text)
    if not ctype.is_multipart():
        return [Attachment(headers, part)]
    if not ctype.boundary:
        raise _fault(faults.INVALID_CONTENT_TYPE, "nested multipart part has no boundary")
    nested = []
    for inner_headers, inner in iter_parts(part.iter_chunks(), ctype.boundary, max_part_bytes=max_attach):
        if inner_headers.content_type is None:
            raise _fault(faults.INVALID_CONTENT_TYPE, "an attachment part has no Content-Type")
        nested.append(Attachment(inner_headers, inner))
    part.close()
    return nested


# -- the SOAP part ----------------------------------------------------------------------


def _charset_of(ctype: ContentType, data: bytes) -> str:
    """Python codec name of the SOAP part; refuses unknown or non-ASCII-compatible ones."""
    declared = ctype.charset
    if data.startswith(codecs.BOM_UTF8):
        declared = declared or "utf-8"
    name = declared or "utf-8"
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        raise _fault(faults.INVALID_CONTENT_TYPE, f"unknown charset {name!r}") from None
    if codec not in _ASCII_COMPATIBLE:
        raise _fault(faults.INVALID_CONTENT_TYPE, f"charset {name!r} is not supported for SOAP messages")
    return codec


def _xml_bytes_for_parsing(data: bytes, codec: str) -> bytes:
    """Bytes for the parser: the exact bytes for UTF-8, a UTF-8 transcoding otherwise.

    Only parsing sees a transcoding; hashes, signatures and the log keep ``data``."""
    if codec == "utf-8":
        return data
    text = data.decode(codec, errors="strict")
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end > 0:
            text = text[end + 2 :]
    return text.encode("utf-8")


def _parse_soap_part(
    data: bytes,
    ctype: ContentType,
    part_type: ContentType,
    *,
    role: Role,
    attachments: tuple[Attachment, ...],
    multipart: bool,
    part_headers: tuple[tuple[str, str], ...] = (),
) -> SoapMessage | SoapFaultMessage:
    if not data.strip():
        raise _fault(faults.INVALID_SOAP, "the SOAP message is empty")
    codec = _charset_of(part_type, data)
    try:
        envelope = parse_xml(_xml_bytes_for_parsing(data, codec), max_bytes=len(data) * 2 + 1024, what="SOAP message")
    except (XmlError, UnicodeDecodeError) as exc:
        raise _fault(faults.INVALID_SOAP, xml_problem(exc)) from None
    if envelope.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise _fault(faults.INVALID_SOAP, "the document is not a SOAP 1.1 Envelope")
    children = [c for c in envelope if isinstance(c.tag, str)]
    header_el = next((c for c in children if c.tag == f"{{{SOAP_ENV_NS}}}Header"), None)
    body_el = next((c for c in children if c.tag == f"{{{SOAP_ENV_NS}}}Body"), None)
    if body_el is None:
        raise _fault(faults.MISSING_BODY, "the SOAP message has no Body")
    body_children = [c for c in body_el if isinstance(c.tag, str)]
    if len(body_children) == 1 and body_children[0].tag == f"{{{SOAP_ENV_NS}}}Fault":
        return _fault_message(data, ctype, envelope, body_children[0], attachments)
    if header_el is None:
        raise _fault(faults.MISSING_HEADER, "the SOAP message has no Header")
    header = read_header(header_el, role=role)
    if len(body_children) != 1:
        raise _fault(faults.INVALID_BODY, f"the SOAP Body must hold exactly one element, has {len(body_children)}")
    body_name = etree.QName(body_children[0])
    if not body_name.localname.startswith(header.service.service_code):
        raise _fault(
            faults.INCONSISTENT_HEADERS,
            f"body element {body_name.localname!r} does not match service code {header.service.service_code!r}",
        )
    rpc = bool(envelope.get(f"{{{SOAP_ENV_NS}}}encodingStyle"))
    return SoapMessage(
        soap_bytes=data,
        content_type=ctype.raw,
        soap_content_type=part_type.raw,
        charset=codec,
        header=header,
        body_name=body_name,
        envelope=envelope,
        attachments=attachments,
        multipart=multipart,
        mtom=part_type.media_type == "application/xop+xml",
        rpc=rpc,
        soap_part_headers=part_headers,
    )


def _text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext())


def _fault_message(
    data: bytes, ctype: ContentType, envelope: etree._Element, fault: etree._Element, attachments: tuple[Attachment, ...]
) -> SoapFaultMessage:
    values: dict[str, etree._Element] = {}
    for child in fault:
        if isinstance(child.tag, str):
            values.setdefault(etree.QName(child).localname, child)
    if "faultcode" not in values:
        raise _fault(faults.INVALID_SOAP, "the SOAP Fault has no faultcode")
    detail_el = values.get("detail")
    detail = None
    if detail_el is not None:
        inner = next((c for c in detail_el if isinstance(c.tag, str)), None)
        detail = _text(inner).strip() if inner is not None else _text(detail_el).strip()
    return SoapFaultMessage(
        soap_bytes=data,
        content_type=ctype.raw,
        faultcode=_text(values["faultcode"]).strip(),
        faultstring=_text(values["faultstring"]).strip() if "faultstring" in values else "",
        faultactor=_text(values["faultactor"]).strip() if "faultactor" in values else None,
        detail=detail,
        envelope=envelope,
        attachments=attachments,
    )


_LXML_POSITION = re.compile(r",\s*line \d+, column \d+\s*$")


def xml_problem(exc: Exception) -> str:
    """One sentence for a SOAP message that does not parse: the parser's reason with line
    and column, without lxml's repeated position and ``(<string>, line N)`` (issue 14)."""
    cause = exc.__cause__
    if isinstance(cause, etree.XMLSyntaxError):
        line, column = cause.position
        reason = _LXML_POSITION.sub("", (cause.msg or "").strip()) or "syntax error"
        if "DOCTYPE" in reason or "ntity" in reason:
            return f"the SOAP message uses a DTD or an entity, which is not allowed (line {line}, column {column}: {reason})"
        return f"the SOAP message is not well-formed XML at line {line}, column {column}: {reason}"
    if isinstance(exc, UnicodeDecodeError):
        return f"the SOAP message is not in its declared character set ({exc.encoding}: {exc.reason})"
    return f"the {exc}" if str(exc).startswith("SOAP message") else f"the SOAP message cannot be read: {exc}"


def parse_soap_part(
    data: bytes,
    content_type: str,
    *,
    role: Role = "request",
    attachments: tuple[Attachment, ...] = (),
    original_content_type: str | None = None,
    part_headers: tuple[tuple[str, str], ...] = (),
) -> SoapMessage | SoapFaultMessage:
    """Parse a SOAP part that was already cut out of a multipart (e.g. by the transport
    decoder); ``original_content_type`` is the IS's top-level type, kept for rebuilding."""
    try:
        part_type = parse_content_type(content_type)
        outer = parse_content_type(original_content_type) if original_content_type else part_type
    except MimeError as exc:
        raise _fault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
    if part_type.media_type not in SOAP_PART_TYPES:
        raise _fault(faults.INVALID_CONTENT_TYPE, f"invalid content type {part_type.media_type!r} for a SOAP part")
    return _parse_soap_part(
        data,
        outer,
        part_type,
        role=role,
        attachments=attachments,
        multipart=outer.is_multipart(),
        part_headers=part_headers,
    )


def check_http_method(method: str) -> None:
    """SOAP requests are POSTed; anything else is ``invalid_http_method``."""
    if method.upper() != "POST":
        raise _fault(faults.INVALID_HTTP_METHOD, f"SOAP messages must be POSTed, not sent with {method!r}")


def check_soap_action(value: str | None) -> str | None:
    """A ``SOAPAction`` header must be absent, empty or a quoted string (SOAP 1.1 s6.1.1).

    Returns the value to forward unchanged (X-Road passes it to the provider as is)."""
    if value is None:
        return None
    stripped = value.strip()
    if stripped and not (len(stripped) >= 2 and stripped[0] == '"' and stripped[-1] == '"'):
        raise _fault(faults.INVALID_SOAP_ACTION, "the SOAPAction header must be a quoted string")
    return value
