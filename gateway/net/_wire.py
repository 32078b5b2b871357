"""The proxies' view of a proxy message: parts with their exact bytes.

The wire format is :mod:`trust.protocol._proxy_message`'s (X-Road's layout: OCSP responses, the
SOAP part with a nested ``multipart/mixed`` of attachments or the REST header part and
body, the signature). The proxies work on a flat list of :class:`Part` (message part
first, then attachments or the REST body), which is also the list of inputs the
signature covers (``/message.xml``, ``/attachment1``...); :func:`encode_message` and
:func:`decode_message` convert between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from trust.protocol import XRoadFault
from trust.protocol import SoapMessage
from trust.protocol import REST_BODY_TYPE as MIME_REST_BODY
from trust.protocol import REST_REQUEST_TYPE as MIME_REST_REQUEST
from trust.protocol import REST_RESPONSE_TYPE as MIME_REST_RESPONSE
from trust.protocol import OutgoingAttachment, RestContent, SoapContent, decode, encode, inbound_fault

__all__ = ["MIME_REST_BODY", "MIME_REST_REQUEST", "MIME_REST_RESPONSE", "Part", "Received", "decode_message",
           "encode_message"]


@dataclass(frozen=True)
class Part:
    content_type: str
    data: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()


def encode_message(message: list[Part], *, signature: bytes, ocsp: Sequence[bytes] = (),
                   hash_chain_result: bytes | None = None, hash_chain: bytes | None = None) -> tuple[str, bytes]:
    """A proxy message in X-Road's layout (``trust.protocol._proxy_message``): OCSP parts, the message
    (SOAP part plus a nested ``multipart/mixed`` of attachments, or the REST header part
    plus body), the hash chain result and chain of a batch signature, the signature.
    Returns ``(Content-Type, body)``."""
    first = message[0]
    content: SoapContent | RestContent
    if first.mime in (MIME_REST_REQUEST, MIME_REST_RESPONSE):
        body = [x.data for x in message[1:] if x.mime == MIME_REST_BODY]
        content = RestContent(first.data, first.mime == MIME_REST_REQUEST, body if body else None)
    else:
        attachments = [OutgoingAttachment((("Content-Type", x.content_type), *x.headers), [x.data])
                       for x in message[1:]]
        content = SoapContent(first.data, first.content_type, attachments, first.headers)
    ctype, chunks = encode(content, signature=signature, ocsp_responses=list(ocsp),
                           hash_chain_result=hash_chain_result, hash_chain=hash_chain)
    return ctype, b"".join(chunks)


@dataclass(frozen=True)
class Received:
    """A decoded proxy message as the proxies use it: parts with their exact bytes."""

    ocsp: tuple[bytes, ...]
    message: tuple[Part, ...]
    signature: bytes | None
    fault: Any = None  # a SoapFaultMessage when the peer answered with a fault
    hash_chain_result: bytes | None = None  # with hash_chain: the message was signed in a batch
    hash_chain: bytes | None = None
    soap: Any = None  # the parsed SoapMessage of a SOAP message (read once, here)


def decode_message(content_type: str, body: bytes, *, role: str, origin: str,
                   original_content_type: str | None = None) -> Received:
    """Read a proxy message (``trust.protocol._proxy_message``); faults come back under ``origin``."""
    try:
        pm = decode(body, content_type, role=role,  # type: ignore[arg-type]
                    original_content_type=original_content_type)
    except XRoadFault as fault:
        raise inbound_fault(fault, origin) from None
    parts: list[Part] = []
    if pm.rest_header_part is not None:
        parts.append(Part(MIME_REST_REQUEST if pm.rest_request else MIME_REST_RESPONSE, pm.rest_header_part))
        if pm.rest_body is not None:
            parts.append(Part(MIME_REST_BODY, pm.rest_body.read()))
            pm.rest_body.close()
    elif pm.soap is not None:
        soap = pm.soap
        ctype = getattr(soap, "soap_content_type", None) or soap.content_type
        extra = tuple((n, v) for n, v in getattr(soap, "soap_part_headers", ())
                      if n.lower() not in ("content-type", "content-length", "content-transfer-encoding"))
        parts.append(Part(ctype, soap.soap_bytes, extra))
        for att in soap.attachments:
            headers = tuple((n, v) for n, v in att.headers.items
                            if n.lower() not in ("content-type", "content-transfer-encoding"))
            parts.append(Part(att.content_type or "application/octet-stream", att.read(), headers))
    soap_message = pm.soap if isinstance(pm.soap, SoapMessage) else None
    return Received(tuple(pm.ocsp_responses), tuple(parts), pm.signature, pm.fault,
                    pm.hash_chain_result, pm.hash_chain, soap_message)
