"""The message format between gateways (X-Road's "proxy message", NOTES 7).

A gateway-to-gateway message is ``multipart/mixed`` with these parts, in order:

1. ``application/ocsp-response`` for each certificate of the sender's chain (requests);
2. the message: a SOAP part (``text/xml`` or ``application/xop+xml``) optionally
   followed by one nested ``multipart/mixed`` part holding the attachments with their
   MIME headers; or a REST header part (``application/x-road-rest-request`` /
   ``-response``) optionally followed by ``application/x-road-rest-body``;
3. for batch signatures, ``application/hash-chain-result`` and ``application/hash-chain``;
4. the signature XML (``signature/bdoc-1.0/ts``), or a ``text/xml`` SOAP fault when
   processing failed after the stream began.

A whole ``text/xml`` reply (not multipart) is a fault of the provider's gateway.

HTTP headers travel beside it: ``x-road-request-id``, ``x-hash-algorithm`` (a *name*,
``SHA-512``), ``x-original-content-type``, ``x-proxy-version``, ``x-original-soapaction``
(SOAP), ``x-road-message-type: REST`` (REST).

The encoder is a generator of byte chunks and the decoder reads an iterable of chunks
and spools large parts, so neither holds a large message in memory. The signature
bytes are made and checked by ``trust`` (XAdES); this module only carries them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator, Literal, Mapping, Sequence

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from ._soap import Attachment, SoapFaultMessage, SoapMessage, parse_soap, parse_soap_part
from ._content_type import MimeError, parse_content_type
from ._mime import PartBody, PartHeaders, iter_parts, spool
from trust.keys import DigestAlgorithm
from trust.errors import TrustError

OCSP_TYPE = "application/ocsp-response"
REST_REQUEST_TYPE = "application/x-road-rest-request"
REST_RESPONSE_TYPE = "application/x-road-rest-response"
REST_BODY_TYPE = "application/x-road-rest-body"
HASH_CHAIN_RESULT_TYPE = "application/hash-chain-result"
HASH_CHAIN_TYPE = "application/hash-chain"
SIGNATURE_TYPE = "signature/bdoc-1.0/ts"
SOAP_TYPES = ("text/xml", "application/xop+xml")

HEADER_REQUEST_ID = "x-road-request-id"
HEADER_HASH_ALGORITHM = "x-hash-algorithm"
HEADER_ORIGINAL_CONTENT_TYPE = "x-original-content-type"
HEADER_PROXY_VERSION = "x-proxy-version"
HEADER_ORIGINAL_SOAPACTION = "x-original-soapaction"
HEADER_MESSAGE_TYPE = "x-road-message-type"

DEFAULT_MAX_PART_BYTES = 4 * 1024 * 1024 * 1024
DEFAULT_MAX_SMALL_PART = 16 * 1024 * 1024
CRLF = b"\r\n"

# Codes that describe the proxy message's structure keep their plain origin; the
# others (what is wrong *inside* the carried message) are reported as
# ``<origin>.service_failed.<leaf>``: observed in X-Road's ProxyTests (manifest).
_STRUCTURAL = frozenset({faults.MISSING_SOAP, faults.MISSING_SIGNATURE, faults.MISSING_REST})


def inbound_fault(fault: XRoadFault, origin: str) -> XRoadFault:
    """How a gateway reports a problem in a proxy message it received from its peer."""
    _, _, leaf = faults.split_code(fault.fault_code)
    if leaf in _STRUCTURAL:
        return XRoadFault(f"{origin}.{leaf}", fault.message, correlation_id=fault.correlation_id)
    return fault.service_failed(origin)


# -- transport HTTP headers -----------------------------------------------------------


@dataclass(frozen=True)
class TransportHeaders:
    """The HTTP headers beside a proxy message."""

    request_id: str
    hash_algorithm: DigestAlgorithm = DigestAlgorithm.SHA512
    original_content_type: str | None = None
    proxy_version: str | None = None
    original_soapaction: str | None = None
    rest: bool = False

    def items(self) -> list[tuple[str, str]]:
        out = [(HEADER_REQUEST_ID, self.request_id), (HEADER_HASH_ALGORITHM, self.hash_algorithm.transport_name)]
        if self.original_content_type is not None:
            out.append((HEADER_ORIGINAL_CONTENT_TYPE, self.original_content_type))
        if self.proxy_version is not None:
            out.append((HEADER_PROXY_VERSION, self.proxy_version))
        if self.original_soapaction is not None:
            out.append((HEADER_ORIGINAL_SOAPACTION, self.original_soapaction))
        if self.rest:
            out.append((HEADER_MESSAGE_TYPE, "REST"))
        return out

    @classmethod
    def read(cls, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> "TransportHeaders":
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        values = {k.lower(): v for k, v in pairs}
        name = values.get(HEADER_HASH_ALGORITHM, "SHA-512")
        try:
            algorithm = DigestAlgorithm.from_name(name)
        except TrustError:
            raise XRoadFault(faults.INVALID_MESSAGE, f"unsupported hash algorithm {name!r}") from None
        return cls(
            request_id=values.get(HEADER_REQUEST_ID) or "",
            hash_algorithm=algorithm,
            original_content_type=values.get(HEADER_ORIGINAL_CONTENT_TYPE),
            proxy_version=values.get(HEADER_PROXY_VERSION),
            original_soapaction=values.get(HEADER_ORIGINAL_SOAPACTION),
            rest=values.get(HEADER_MESSAGE_TYPE, "").strip().upper() == "REST",
        )


# -- encoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingAttachment:
    """An attachment to send: its MIME header lines (kept as the IS sent them) and bytes."""

    headers: tuple[tuple[str, str], ...]
    chunks: Iterable[bytes]

    @classmethod
    def from_attachment(cls, attachment: Attachment) -> "OutgoingAttachment":
        return cls(attachment.headers.items, attachment.body.iter_chunks())


@dataclass(frozen=True)
class SoapContent:
    """A SOAP message to carry: exact SOAP bytes, the SOAP part's content type, any
    further SOAP-part header lines (``Content-ID`` of an MTOM root) and attachments."""

    soap_bytes: bytes
    content_type: str
    attachments: Sequence[OutgoingAttachment] = ()
    part_headers: Sequence[tuple[str, str]] = ()

    @classmethod
    def from_message(cls, message: SoapMessage, soap_bytes: bytes | None = None) -> "SoapContent":
        """Carry a parsed message (``soap_bytes`` replaces its SOAP bytes, e.g. after
        ``requestHash`` insertion); attachments are streamed from their spools."""
        extra = [(k, v) for k, v in message.soap_part_headers if k.lower() not in ("content-type", "content-length")]
        return cls(
            message.soap_bytes if soap_bytes is None else soap_bytes,
            message.soap_content_type,
            [OutgoingAttachment.from_attachment(a) for a in message.attachments],
            extra,
        )


@dataclass(frozen=True)
class RestContent:
    header_part: bytes
    request: bool
    body: Iterable[bytes] | None = None


def new_boundary() -> str:
    return "xroad" + uuid.uuid4().hex


def _part(content_type: str, data: bytes | Iterable[bytes], boundary: bytes, extra: Sequence[tuple[str, str]] = ()) -> Iterator[bytes]:
    head = b"--" + boundary + CRLF + b"Content-Type: " + content_type.encode("latin-1") + CRLF
    for name, value in extra:
        head += f"{name}: {value}".encode("latin-1") + CRLF
    yield head + CRLF
    if isinstance(data, (bytes, bytearray)):
        yield bytes(data)
    else:
        yield from data
    yield CRLF


def encode(
    content: SoapContent | RestContent | None,
    *,
    signature: bytes | None = None,
    fault: bytes | None = None,
    ocsp_responses: Sequence[bytes] = (),
    hash_chain_result: bytes | None = None,
    hash_chain: bytes | None = None,
    boundary: str | None = None,
) -> tuple[str, Iterator[bytes]]:
    """Encode a proxy message; returns ``(content_type, chunks)``.

    Give ``signature`` for a normal message, or ``fault`` (SOAP fault bytes) instead of
    the signature when processing failed after the message was sent, or ``content=None``
    with ``fault`` for a message that is only a fault.
    """
    if signature is not None and fault is not None:
        raise ValueError("a proxy message ends with a signature or a fault, not both")
    if (hash_chain is None) != (hash_chain_result is None):
        raise ValueError("hash chain and hash chain result go together")
    boundary = boundary or new_boundary()
    b = boundary.encode("ascii")

    def generate() -> Iterator[bytes]:
        for ocsp in ocsp_responses:
            yield from _part(OCSP_TYPE, ocsp, b)
        if isinstance(content, SoapContent):
            yield from _part(content.content_type, content.soap_bytes, b, content.part_headers)
            if content.attachments:
                inner = new_boundary()
                ib = inner.encode("ascii")
                yield b"--" + b + CRLF + f"Content-Type: multipart/mixed; boundary={inner}".encode() + CRLF + CRLF
                for attachment in content.attachments:
                    head = b"--" + ib + CRLF
                    for name, value in attachment.headers:
                        head += f"{name}: {value}".encode("latin-1") + CRLF
                    yield head + CRLF
                    yield from attachment.chunks
                    yield CRLF
                yield b"--" + ib + b"--" + CRLF
        elif isinstance(content, RestContent):
            yield from _part(REST_REQUEST_TYPE if content.request else REST_RESPONSE_TYPE, content.header_part, b)
            if content.body is not None:
                yield from _part(REST_BODY_TYPE, content.body, b)
        if hash_chain_result is not None and hash_chain is not None:
            yield from _part(HASH_CHAIN_RESULT_TYPE, hash_chain_result, b)
            yield from _part(HASH_CHAIN_TYPE, hash_chain, b)
        if signature is not None:
            yield from _part(SIGNATURE_TYPE, signature, b)
        if fault is not None:
            yield from _part("text/xml; charset=UTF-8", fault, b)
        yield b"--" + b + b"--" + CRLF

    return f"multipart/mixed; charset=UTF-8; boundary={boundary}", generate()


# -- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProxyMessage:
    """A decoded proxy message. ``soap`` / ``rest_header_part`` hold the exact bytes."""

    ocsp_responses: tuple[bytes, ...] = ()
    soap: SoapMessage | SoapFaultMessage | None = None
    rest_header_part: bytes | None = None
    rest_request: bool = False
    rest_body: PartBody | None = None
    hash_chain_result: bytes | None = None
    hash_chain: bytes | None = None
    signature: bytes | None = None
    fault: SoapFaultMessage | None = None

    @property
    def message_bytes(self) -> bytes:
        """What ``/message.xml`` in the signature covers: SOAP bytes or the REST header part."""
        if self.soap is not None:
            return self.soap.soap_bytes
        if self.rest_header_part is not None:
            return self.rest_header_part
        raise XRoadFault(faults.INVALID_MESSAGE, "the proxy message carries no message")


def decode(
    chunks: bytes | Iterable[bytes],
    content_type: str | None,
    *,
    role: Literal["request", "response"] = "request",
    original_content_type: str | None = None,
    require_signature: bool = True,
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
    max_small_part: int = DEFAULT_MAX_SMALL_PART,
) -> ProxyMessage:
    """Decode a proxy message; raises :class:`XRoadFault` with X-Road's (origin-less) code.

    A request must be ``multipart/mixed``; a ``text/xml`` response must be a SOAP fault
    (``invalid_message`` otherwise). With
    ``require_signature`` a message without signature or fault is ``missing_signature``.
    The caller turns the code into its own with :func:`inbound_fault`.
    """
    try:
        ctype = parse_content_type(content_type)
    except MimeError as exc:
        raise XRoadFault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
    if isinstance(chunks, (bytes, bytearray)):
        data = bytes(chunks)
        chunks = [data]
    if ctype.media_type == "text/xml":
        if role == "request":
            raise XRoadFault(faults.INVALID_CONTENT_TYPE, "a proxy request must be multipart/mixed, not text/xml")
        parsed = parse_soap(chunks, content_type, role=role, max_soap_bytes=max_small_part)
        if not isinstance(parsed, SoapFaultMessage):
            raise XRoadFault(faults.INVALID_MESSAGE, "a text/xml proxy message must be a SOAP fault")
        return ProxyMessage(fault=parsed)
    if ctype.media_type != "multipart/mixed":
        raise XRoadFault(faults.INVALID_CONTENT_TYPE, f"invalid content type {ctype.media_type!r} for a proxy message")
    if not ctype.boundary:
        raise XRoadFault(faults.INVALID_CONTENT_TYPE, "multipart/mixed proxy message has no boundary")
    return _decode_multipart(
        chunks, ctype.boundary, role, original_content_type, require_signature, max_part_bytes, max_small_part
    )


def _small(body: PartBody, limit: int, what: str) -> bytes:
    if body.size > limit:
        raise XRoadFault(faults.INVALID_MESSAGE, f"{what} is larger than {limit} bytes")
    data = body.read()
    body.close()
    return data


def _decode_multipart(
    chunks: Iterable[bytes],
    boundary: str,
    role: Literal["request", "response"],
    original_content_type: str | None,
    require_signature: bool,
    max_part: int,
    max_small: int,
) -> ProxyMessage:
    ocsp: list[bytes] = []
    soap_part: tuple[PartHeaders, bytes] | None = None
    attachments: list[Attachment] = []
    rest_header: bytes | None = None
    rest_request = False
    rest_body: PartBody | None = None
    chain_result = chain = signature = None
    fault: SoapFaultMessage | None = None
    stage = 0  # 0 ocsp, 1 message, 2 after message, 3 hash chain, 4 end

    def check(headers: PartHeaders, index: int) -> None:
        if headers.content_type is None:
            raise XRoadFault(faults.INVALID_CONTENT_TYPE, f"proxy message part {index + 1} has no Content-Type")
        parse_content_type(headers.content_type)

    try:
        for headers, body in iter_parts(chunks, boundary, max_part_bytes=max_part, on_headers=check):
            ctype = parse_content_type(headers.content_type)
            media = ctype.media_type
            if stage == 4:
                raise XRoadFault(faults.INVALID_MESSAGE, f"unexpected part {media!r} after the signature")
            if media == OCSP_TYPE and stage == 0:
                ocsp.append(_small(body, max_small, "OCSP response"))
            elif media in SOAP_TYPES and stage <= 1 and soap_part is None and rest_header is None:
                soap_part = (headers, _small(body, max_small, "SOAP part"))
                stage = 2
            elif media == "multipart/mixed" and soap_part is not None and stage == 2 and not attachments:
                if not ctype.boundary:
                    raise XRoadFault(faults.INVALID_CONTENT_TYPE, "attachment part has no boundary")
                for inner_headers, inner in iter_parts(
                    body.iter_chunks(), ctype.boundary, max_part_bytes=max_part, on_headers=check
                ):
                    attachments.append(Attachment(inner_headers, inner))
                body.close()
            elif media in (REST_REQUEST_TYPE, REST_RESPONSE_TYPE) and stage <= 1:
                rest_header = _small(body, max_small, "REST header part")
                rest_request = media == REST_REQUEST_TYPE
                stage = 2
            elif media == REST_BODY_TYPE and rest_header is not None and stage == 2 and rest_body is None:
                rest_body = body
            elif media == HASH_CHAIN_RESULT_TYPE and stage == 2:
                chain_result = _small(body, max_small, "hash chain result")
                stage = 3
            elif media == HASH_CHAIN_TYPE and stage == 3 and chain is None:
                chain = _small(body, max_small, "hash chain")
            elif media == SIGNATURE_TYPE and stage in (2, 3):
                if chain_result is not None and chain is None:
                    raise XRoadFault(faults.INVALID_MESSAGE, "hash chain result without hash chain")
                signature = _small(body, max_small, "signature")
                stage = 4
            elif media == SIGNATURE_TYPE and stage <= 1:
                body.close()
                raise XRoadFault(faults.MISSING_SOAP, "the proxy message has a signature but no message")
            elif media == "text/xml" and stage >= 2:
                parsed = parse_soap_part(_small(body, max_small, "fault"), headers.content_type or "", role=role)
                if not isinstance(parsed, SoapFaultMessage):
                    raise XRoadFault(faults.INVALID_MESSAGE, "a text/xml part after the message must be a fault")
                fault = parsed
                stage = 4
            else:
                body.close()
                code = faults.INVALID_CONTENT_TYPE if stage <= 1 else faults.INVALID_MESSAGE
                raise XRoadFault(code, f"unexpected part {media!r} in the proxy message")
    except MimeError as exc:
        if exc.reason == "content_type":
            raise XRoadFault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
        if exc.reason == "no_parts":
            raise XRoadFault(faults.MISSING_SOAP, "the proxy message has no parts") from None
        raise XRoadFault(faults.INVALID_MESSAGE, f"malformed proxy message: {exc}") from None
    soap = None
    if soap_part is not None:
        soap = parse_soap_part(
            soap_part[1],
            soap_part[0].content_type or "",
            role=role,
            attachments=tuple(attachments),
            original_content_type=original_content_type,
            part_headers=soap_part[0].items,
        )
        if isinstance(soap, SoapFaultMessage) and signature is None and fault is None:
            soap, fault = None, soap  # a proxy message that is only a fault
    elif rest_header is None:
        raise XRoadFault(faults.MISSING_SOAP, "the proxy message carries no SOAP or REST message")
    if require_signature and signature is None and fault is None:
        raise XRoadFault(faults.MISSING_SIGNATURE, "the proxy message has no signature")
    return ProxyMessage(
        ocsp_responses=tuple(ocsp),
        soap=soap,
        rest_header_part=rest_header,
        rest_request=rest_request,
        rest_body=rest_body,
        hash_chain_result=chain_result,
        hash_chain=chain,
        signature=signature,
        fault=fault,
    )


def spool_body(chunks: Iterable[bytes], limit: int = DEFAULT_MAX_PART_BYTES) -> PartBody:
    """Spool a body (e.g. a REST body) with its SHA-512 computed on the way."""
    return spool(chunks, limit=limit, what="message body")
