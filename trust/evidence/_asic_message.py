"""Who must have signed a logged message: read from the message itself.

A request is signed by its client, a response by the service provider (NOTES 7).
The message in an ASiC container is either a SOAP 4.0 envelope or a REST header part
(``VERB\\r\\n/r1/...`` for requests, ``200\\r\\nOK\\r\\n...`` for responses, then
``Name:Value`` lines). Only the identifying headers are read; the bytes themselves
are verified by the signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from trust.errors import IdentifierError, TrustError
from trust.protocol import ClientId, ServiceId, client_from_xml, parse_client, parse_service, service_from_xml
from trust.protocol import SOAP12_ENV_NS, SOAP_ENV_NS, XROAD_NS
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
    client_el = header.find(f"{{{XROAD_NS}}}client")
    service_el = header.find(f"{{{XROAD_NS}}}service")
    if client_el is None:
        raise MessageUnreadable("SOAP header has no xroad:client")
    try:
        client = client_from_xml(client_el)
        service = service_from_xml(service_el) if service_el is not None else None
    except IdentifierError as exc:
        raise MessageUnreadable(f"SOAP header identifiers are malformed: {exc}") from exc
    first = next((el for el in (body if body is not None else []) if isinstance(el.tag, str)), None)
    is_response = header.find(f"{{{XROAD_NS}}}requestHash") is not None or (
        first is not None and etree.QName(first).localname.endswith("Response")
    )
    return MessageIdentity("soap", is_response, client, service, header.findtext(f"{{{XROAD_NS}}}id"))


def _rest(message: bytes) -> MessageIdentity:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageUnreadable("REST header part is not UTF-8") from exc
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if len(lines) < 2:
        raise MessageUnreadable("REST header part is too short")
    is_response = lines[0].strip().isdigit()
    headers: dict[str, str] = {}
    for line in lines[2:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MessageUnreadable(f"REST header line {line[:40]!r} has no colon")
        headers.setdefault(name.strip().lower(), value.strip())
    try:
        client = parse_client(headers["x-road-client"])
        service: ServiceId | None = None
        if "x-road-service" in headers:
            service = parse_service(headers["x-road-service"])
        elif not is_response:
            service = _service_from_path(lines[1])
    except KeyError as exc:
        raise MessageUnreadable(f"REST header part lacks {exc.args[0]}") from exc
    except IdentifierError as exc:
        raise MessageUnreadable(f"REST identifiers are malformed: {exc}") from exc
    return MessageIdentity("rest", is_response, client, service, headers.get("x-road-id"))


def _service_from_path(path: str) -> ServiceId:
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) < 6 or parts[0] != "r1":
        raise MessageUnreadable(f"REST request path {path[:60]!r} is not /r1/{{service}}")
    return parse_service("/".join(parts[1:6]))
