"""X-Road SOAP 4.0 envelopes as an adapter sees them: read a request, write an answer or a fault.

The adapter sits where X-Road expects the provider's information system, so it must
behave like one (NOTES section 2): it reads the X-Road headers (``client``,
``service``, ``id``, ``userId``, ``issue``, ``protocolVersion``), echoes *every*
header back in the same order with the same values (the consumer's gateway compares
them and answers ``inconsistent_response`` on any difference), and reports failures
as faults whose ``faultcode`` is an unqualified dotted string with a correlation id
in ``detail``. The correlation id is what an operator greps for in the adapter's
log; nothing else about the failure (stack traces, backend host names) leaves.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Callable

from lxml import etree

from trust.protocol import HeaderFault, ServiceId, read_header
from trust.protocol import SOAP12_ENV_NS as SOAP12_NS, SOAP_ENV_NS as SOAP11_NS
from trust.infra import parse_xml

from adapters.errors import AdapterError

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class AdapterFault(AdapterError):
    """A failure that reaches the caller as an X-Road fault with a specific code.

    ``code`` is the X-Road style fault code (``server.adapter.backend_unreachable``);
    ``message`` is safe to show to a peer; ``http_status`` is what the REST face answers.
    """

    code = "server.adapter.internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)

    @property
    def http_status(self) -> int:
        return 500 if self.code.startswith("server.") else 400


def client_fault(code: str, message: str) -> AdapterFault:
    return AdapterFault(message, code=f"client.adapter.{code}")


def server_fault(code: str, message: str) -> AdapterFault:
    return AdapterFault(message, code=f"server.adapter.{code}")


@dataclass(frozen=True)
class XRoadRequest:
    """An X-Road SOAP 4.0 request after its headers were read.

    ``header`` is the request's ``SOAP-ENV:Header`` element (kept to echo it back);
    ``body`` is the document/literal wrapper element.
    """

    raw: bytes
    envelope: etree._Element
    header: etree._Element
    body: etree._Element
    client: str
    service: ServiceId
    message_id: str
    user_id: str | None
    issue: str | None
    protocol_version: str

    @property
    def context(self) -> dict[str, str]:
        """The values a mapping may see (XSLT parameters and hook arguments)."""
        return {
            "userId": self.user_id or "",
            "client": self.client,
            "issue": self.issue or "",
            "id": self.message_id,
            "service": self.service.to_text(),
            "serviceCode": self.service.service_code,
            "serviceVersion": self.service.service_version or "",
        }


# trust.protocol's header faults as the adapter words them: (adapter code, message template)
_HEADER_FAULTS = {
    "duplicate_header_field": ("duplicate_header_field", "X-Road header {field} occurs more than once"),
    "missing_header_field": ("missing_header_field", "X-Road header {field} is missing"),
    "invalid_protocol_version": ("invalid_protocol_version", "unsupported protocolVersion {reason!r}"),
    "invalid_xml": ("invalid_header_field", "malformed X-Road identifier: {reason}"),
    "invalid_request": ("invalid_header_field", "X-Road header {field} is {reason}"),
}


def _header_fault(fault: HeaderFault) -> AdapterFault:
    code, template = _HEADER_FAULTS[fault.leaf]
    return client_fault(code, template.format(field=fault.field, reason=fault.reason))


def _stripped(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def parse_request(raw: bytes) -> XRoadRequest:
    """Read an X-Road SOAP 4.0 request; every problem becomes a ``client.adapter.*`` fault."""
    try:
        envelope = parse_xml(raw, max_bytes=MAX_MESSAGE_BYTES, what="SOAP request")
    except AdapterError:
        raise
    except Exception as exc:  # trust.errors.XmlError and its leaves
        raise client_fault("invalid_xml", f"the request is not acceptable XML: {exc}") from exc
    if envelope.tag != f"{{{SOAP11_NS}}}Envelope":
        raise client_fault("invalid_soap", "the request is not a SOAP 1.1 envelope")
    header = envelope.find(f"{{{SOAP11_NS}}}Header")
    body = envelope.find(f"{{{SOAP11_NS}}}Body")
    if header is None:
        raise client_fault("missing_header", "the request has no SOAP header with X-Road fields")
    if body is None:
        raise client_fault("invalid_soap", "the request has no SOAP body")
    payload = [child for child in body if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise client_fault("invalid_body", "the SOAP body must hold exactly one wrapper element")
    try:
        fields = read_header(header)
    except HeaderFault as fault:
        raise _header_fault(fault) from fault
    return XRoadRequest(
        raw=raw,
        envelope=envelope,
        header=header,
        body=payload[0],
        client=fields.client.to_text(),
        service=fields.service,
        message_id=fields.query_id,
        user_id=_stripped(fields.user_id),
        issue=_stripped(fields.issue),
        protocol_version=fields.protocol_version,
    )


def build_response(request: XRoadRequest, payload: etree._Element) -> bytes:
    """An answer envelope: the request's header echoed unchanged, ``payload`` in the body."""
    envelope = etree.Element(f"{{{SOAP11_NS}}}Envelope", nsmap={"SOAP-ENV": SOAP11_NS})
    header = copy.deepcopy(request.header)
    envelope.append(header)
    body = etree.SubElement(envelope, f"{{{SOAP11_NS}}}Body")
    body.append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def build_fault(code: str, message: str, correlation_id: str, *, header: etree._Element | None = None) -> bytes:
    """An X-Road style fault: plain dotted ``faultcode``, correlation id in ``detail``."""
    envelope = etree.Element(f"{{{SOAP11_NS}}}Envelope", nsmap={"SOAP-ENV": SOAP11_NS})
    if header is not None:
        envelope.append(copy.deepcopy(header))
    body = etree.SubElement(envelope, f"{{{SOAP11_NS}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP11_NS}}}Fault")
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, "faultDetail").text = correlation_id
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def new_correlation_id(factory: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    return str(factory())


def read_fault(envelope: etree._Element) -> tuple[str, str] | None:
    """``(faultcode, faultstring)`` when a SOAP 1.1 or 1.2 envelope carries a fault."""
    for ns in (SOAP11_NS, SOAP12_NS):
        fault = envelope.find(f"{{{ns}}}Body/{{{ns}}}Fault")
        if fault is None:
            continue
        if ns == SOAP11_NS:
            code = (fault.findtext("faultcode") or "").strip()
            text = (fault.findtext("faultstring") or "").strip()
        else:
            code = (fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or "").strip()
            text = (fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or "").strip()
        return code, text
    return None
