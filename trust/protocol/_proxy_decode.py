"""Reading a proxy message from a peer gateway (the layout is in :mod:`._proxy_message`).

The parts arrive in a fixed order (OCSP responses, the message, a hash chain,
the signature or a fault), and each is accepted only at its place: the reader is a
small state machine whose *stage* says which parts may still come. Parts are read
as they stream in, once: small parts (at most ``max_small_part`` bytes) are kept
as the exact bytes received, a REST body stays spooled with its hash computed on
the way, and attachments keep their own spools. Nothing is re-serialised, so the
signature is later checked over the very bytes that crossed the wire.

Problems come back as :class:`XRoadFault` with X-Road's origin-less code; a gateway
turns them into its own with :func:`inbound_fault`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

from trust.protocol import _faults as faults

from .mime import ContentType, MimeError, parse_content_type
from ._faults import XRoadFault
from .mime import PartHeaders, iter_parts
from ._proxy_message import (
    DEFAULT_MAX_PART_BYTES, DEFAULT_MAX_SMALL_PART, HASH_CHAIN_RESULT_TYPE, HASH_CHAIN_TYPE, OCSP_TYPE,
    REST_BODY_TYPE, REST_REQUEST_TYPE, REST_RESPONSE_TYPE, SIGNATURE_TYPE, SOAP_TYPES,
)
from ._soap import parse_soap, parse_soap_part
from ._soap_message import Attachment, SoapFaultMessage, SoapMessage
from .mime import PartBody

Role = Literal["request", "response"]

# Codes that describe the proxy message's structure keep their plain origin; the
# others (what is wrong *inside* the carried message) are reported as
# ``<origin>.service_failed.<leaf>``: observed in X-Road's ProxyTests (manifest).
_STRUCTURAL = frozenset({faults.MISSING_SOAP, faults.MISSING_SIGNATURE, faults.MISSING_REST})

# Stages of the reader: which parts may still come.
_OCSP, _MESSAGE, _AFTER_MESSAGE, _HASH_CHAIN, _END = range(5)


def inbound_fault(fault: XRoadFault, origin: str) -> XRoadFault:
    """How a gateway reports a problem in a proxy message it received from its peer."""
    _, _, leaf = faults.split_code(fault.fault_code)
    if leaf in _STRUCTURAL:
        return XRoadFault(f"{origin}.{leaf}", fault.message, correlation_id=fault.correlation_id)
    return fault.service_failed(origin)


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
    role: Role = "request",
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
    reader = _PartsReader(role, max_part_bytes, max_small_part)
    reader.read(chunks, ctype.boundary)
    return reader.message(original_content_type, require_signature)


def _small(body: PartBody, limit: int, what: str) -> bytes:
    if body.size > limit:
        raise XRoadFault(faults.INVALID_MESSAGE, f"{what} is larger than {limit} bytes")
    data = body.read()
    body.close()
    return data


def _check_part_type(headers: PartHeaders, index: int) -> None:
    """Every part names its type, and the type can be read (before its body is read)."""
    if headers.content_type is None:
        raise XRoadFault(faults.INVALID_CONTENT_TYPE, f"proxy message part {index + 1} has no Content-Type")
    parse_content_type(headers.content_type)


@dataclass
class _PartsReader:
    """What has been read of one multipart proxy message so far, and at which stage."""

    role: Role
    max_part: int
    max_small: int
    stage: int = _OCSP
    ocsp: list[bytes] = field(default_factory=list)
    soap_part: tuple[PartHeaders, bytes] | None = None
    attachments: list[Attachment] = field(default_factory=list)
    rest_header: bytes | None = None
    rest_request: bool = False
    rest_body: PartBody | None = None
    chain_result: bytes | None = None
    chain: bytes | None = None
    signature: bytes | None = None
    fault: SoapFaultMessage | None = None

    def read(self, chunks: Iterable[bytes], boundary: str) -> None:
        """Take every part of the stream in turn; MIME errors become X-Road faults."""
        try:
            for headers, body in iter_parts(chunks, boundary, max_part_bytes=self.max_part, on_headers=_check_part_type):
                self._take(headers, body, parse_content_type(headers.content_type))
        except MimeError as exc:
            if exc.reason == "content_type":
                raise XRoadFault(faults.INVALID_CONTENT_TYPE, str(exc)) from None
            if exc.reason == "no_parts":
                raise XRoadFault(faults.MISSING_SOAP, "the proxy message has no parts") from None
            raise XRoadFault(faults.INVALID_MESSAGE, f"malformed proxy message: {exc}") from None

    def _take(self, headers: PartHeaders, body: PartBody, ctype: ContentType) -> None:
        """One part: accepted if its type may come at this stage, refused otherwise."""
        media = ctype.media_type
        stage = self.stage
        if stage == _END:
            raise XRoadFault(faults.INVALID_MESSAGE, f"unexpected part {media!r} after the signature")
        if media == OCSP_TYPE and stage == _OCSP:
            self.ocsp.append(_small(body, self.max_small, "OCSP response"))
        elif media in SOAP_TYPES and stage <= _MESSAGE and self.soap_part is None and self.rest_header is None:
            self.soap_part = (headers, _small(body, self.max_small, "SOAP part"))
            self.stage = _AFTER_MESSAGE
        elif media == "multipart/mixed" and self.soap_part is not None and stage == _AFTER_MESSAGE and not self.attachments:
            self._take_attachments(body, ctype)
        elif media in (REST_REQUEST_TYPE, REST_RESPONSE_TYPE) and stage <= _MESSAGE:
            self.rest_header = _small(body, self.max_small, "REST header part")
            self.rest_request = media == REST_REQUEST_TYPE
            self.stage = _AFTER_MESSAGE
        elif media == REST_BODY_TYPE and self.rest_header is not None and stage == _AFTER_MESSAGE and self.rest_body is None:
            self.rest_body = body
        elif media == HASH_CHAIN_RESULT_TYPE and stage == _AFTER_MESSAGE:
            self.chain_result = _small(body, self.max_small, "hash chain result")
            self.stage = _HASH_CHAIN
        elif media == HASH_CHAIN_TYPE and stage == _HASH_CHAIN and self.chain is None:
            self.chain = _small(body, self.max_small, "hash chain")
        elif media == SIGNATURE_TYPE and stage in (_AFTER_MESSAGE, _HASH_CHAIN):
            if self.chain_result is not None and self.chain is None:
                raise XRoadFault(faults.INVALID_MESSAGE, "hash chain result without hash chain")
            self.signature = _small(body, self.max_small, "signature")
            self.stage = _END
        elif media == SIGNATURE_TYPE and stage <= _MESSAGE:
            body.close()
            raise XRoadFault(faults.MISSING_SOAP, "the proxy message has a signature but no message")
        elif media == "text/xml" and stage >= _AFTER_MESSAGE:
            self._take_fault(headers, body)
        else:
            body.close()
            code = faults.INVALID_CONTENT_TYPE if stage <= _MESSAGE else faults.INVALID_MESSAGE
            raise XRoadFault(code, f"unexpected part {media!r} in the proxy message")

    def _take_attachments(self, body: PartBody, ctype: ContentType) -> None:
        """The nested multipart after a SOAP part: each inner part is an attachment."""
        if not ctype.boundary:
            raise XRoadFault(faults.INVALID_CONTENT_TYPE, "attachment part has no boundary")
        for inner_headers, inner in iter_parts(
            body.iter_chunks(), ctype.boundary, max_part_bytes=self.max_part, on_headers=_check_part_type
        ):
            self.attachments.append(Attachment(inner_headers, inner))
        body.close()

    def _take_fault(self, headers: PartHeaders, body: PartBody) -> None:
        """A ``text/xml`` part after the message: the sender failed after it began."""
        parsed = parse_soap_part(_small(body, self.max_small, "fault"), headers.content_type or "", role=self.role)
        if not isinstance(parsed, SoapFaultMessage):
            raise XRoadFault(faults.INVALID_MESSAGE, "a text/xml part after the message must be a fault")
        self.fault = parsed
        self.stage = _END

    def message(self, original_content_type: str | None, require_signature: bool) -> ProxyMessage:
        """The decoded message, once every part was read: a message and a signature (or fault)."""
        soap = None
        fault = self.fault
        if self.soap_part is not None:
            headers, soap_bytes = self.soap_part
            soap = parse_soap_part(
                soap_bytes,
                headers.content_type or "",
                role=self.role,
                attachments=tuple(self.attachments),
                original_content_type=original_content_type,
                part_headers=headers.items,
            )
            if isinstance(soap, SoapFaultMessage) and self.signature is None and fault is None:
                soap, fault = None, soap  # a proxy message that is only a fault
        elif self.rest_header is None:
            raise XRoadFault(faults.MISSING_SOAP, "the proxy message carries no SOAP or REST message")
        if require_signature and self.signature is None and fault is None:
            raise XRoadFault(faults.MISSING_SIGNATURE, "the proxy message has no signature")
        return ProxyMessage(
            ocsp_responses=tuple(self.ocsp),
            soap=soap,
            rest_header_part=self.rest_header,
            rest_request=self.rest_request,
            rest_body=self.rest_body,
            hash_chain_result=self.chain_result,
            hash_chain=self.chain,
            signature=self.signature,
            fault=fault,
        )
