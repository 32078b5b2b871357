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

The encoder here is a generator of byte chunks and the decoder
(:mod:`._proxy_decode`) reads an iterable of chunks and spools large parts, so
neither holds a large message in memory. The signature bytes are made and checked
by ``trust`` (XAdES); this codec only carries them.
"""

from __future__ import annotations

import collections.abc
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from ._soap_message import Attachment, SoapMessage
from .mime import PartBody, spool
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
        # the ABC: an isinstance through typing's alias costs ~3x more
        pairs = headers.items() if isinstance(headers, collections.abc.Mapping) else headers
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


def spool_body(chunks: Iterable[bytes], limit: int = DEFAULT_MAX_PART_BYTES) -> PartBody:
    """Spool a body (e.g. a REST body) with its SHA-512 computed on the way."""
    return spool(chunks, limit=limit, what="message body")
