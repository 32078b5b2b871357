"""Who must have signed a logged message: read from the message itself.

A request is signed by its client, a response by the service provider (NOTES 7).
The message in an ASiC container is either a SOAP 4.0 envelope or a REST header part
(``VERB\\r\\n/r1/...`` for requests, ``200\\r\\nOK\\r\\n...`` for responses, then
``Name:Value`` lines). Only the identifying headers are read, by trust.protocol's own
readers (:func:`~trust.protocol.header_fields`, :func:`~trust.protocol.parse_header_part`);
the bytes themselves are verified by the signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lxml import etree

from trust.errors import IdentifierError, TrustError
from trust.protocol import ClientId, ServiceId, client_from_xml, parse_client, parse_service, service_from_xml
from trust.protocol import SOAP12_ENV_NS, SOAP_ENV_NS, XRoadFault, header_fields, parse_header_part
from trust.protocol import rest_purpose, soap_purpose
from trust.infra import parse_xml
from trust.xades import AsicError

_SOAP_ENVELOPES = (SOAP_ENV_NS, SOAP12_ENV_NS)


class MessageUnreadable(AsicError):
    code = "trust.asic.message_unreadable"


@dataclass(frozen=True)
class MessageIdentity:
    """What the logged message says about itself."""

    kind: str  # "soap" or "rest"
    is_response: bool
    client: ClientId
    service: ServiceId | None
    query_id: str | None
    purpose: str | None = None  # the purpose the client declared (issue 20), part of the signed bytes

    @property
    def signer(self) -> ClientId:
        """The client for a request, the provider for a response."""
        if self.is_response:
            if self.service is None:
                raise MessageUnreadable("response names no service, so its signer is unknown")
            return self.service.provider
        return self.client


def read_identity(message: bytes) -> MessageIdentity:
    head = message.lstrip()[:1]
    if head == b"<":
        return _soap(message)
    return _rest(message)


def _soap(message: bytes) -> MessageIdentity:
    try:
        root = parse_xml(message, what="logged SOAP message")
    except TrustError as exc:
        raise MessageUnreadable(f"message.xml is not readable XML: {exc}") from exc
    ns = etree.QName(root).namespace
    if ns not in _SOAP_ENVELOPES or etree.QName(root).localname != "Envelope":
        raise MessageUnreadable("message.xml is not a SOAP envelope")
    header = root.find(f"{{{ns}}}Header")
    body = root.find(f"{{{ns}}}Body")
    if header is None:
        raise MessageUnreadable("SOAP message has no header, so no X-Road client")
    try:
        fields = header_fields(header)
    except XRoadFault as exc:
        raise MessageUnreadable(f"SOAP header is not readable: {exc.message}") from exc
    client_el = fields.get("client")
    service_el = fields.get("service")
    if client_el is None:
        raise MessageUnreadable("SOAP header has no xroad:client")
    try:
        client = client_from_xml(client_el)
        service = service_from_xml(service_el) if service_el is not None else None
    except IdentifierError as exc:
        raise MessageUnreadable(f"SOAP header identifiers are malformed: {exc}") from exc
    first = next((el for el in (body if body is not None else []) if isinstance(el.tag, str)), None)
    is_response = "requestHash" in fields or (first is not None and etree.QName(first).localname.endswith("Response"))
    query_id = (fields["id"].text or "") if "id" in fields else None
    return MessageIdentity("soap", is_response, client, service, query_id, _purpose(soap_purpose, root))


def _rest(message: bytes) -> MessageIdentity:
    # tolerant of LF line ends and blank lines, then read as the gateway reads header parts
    lines = message.split(b"\r\n") if b"\r\n" in message else message.split(b"\n")
    is_response = lines[0].decode("utf-8", "replace").strip().isdigit()
    try:
        part = parse_header_part(b"\r\n".join(lines[:2] + [line for line in lines[2:] if line]), request=not is_response)
    except XRoadFault as exc:
        raise MessageUnreadable(exc.message) from exc
    headers: dict[str, str] = {}
    for name, value in part.headers:
        headers.setdefault(name.strip().lower(), value.strip())
    try:
        client = parse_client(headers["x-road-client"])
        service: ServiceId | None = None
        if "x-road-service" in headers:
            service = parse_service(headers["x-road-service"])
        elif not is_response:
            service = _service_from_path(part.path or "")
    except KeyError as exc:
        raise MessageUnreadable(f"REST header part lacks {exc.args[0]}") from exc
    except IdentifierError as exc:
        raise MessageUnreadable(f"REST identifiers are malformed: {exc}") from exc
    return MessageIdentity("rest", is_response, client, service, headers.get("x-road-id"),
                           _purpose(rest_purpose, part.headers))


def _purpose(read: Callable[[Any], str | None], source: object) -> str | None:
    """The declared purpose (``sild:purpose`` or ``X-Sild-Purpose``); a malformed one is unreadable."""
    try:
        return read(source)
    except XRoadFault as exc:
        raise MessageUnreadable(f"declared purpose is not readable: {exc.message}") from exc


def _service_from_path(path: str) -> ServiceId:
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) < 6 or parts[0] != "r1":
        raise MessageUnreadable(f"REST request path {path[:60]!r} is not /r1/{{service}}")
    return parse_service("/".join(parts[1:6]))
