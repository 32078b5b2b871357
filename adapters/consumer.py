"""The consumer-side adapter: a legacy client calls X-Road services without knowing X-Road.

Many client systems speak plain SOAP or XML and cannot be changed to add X-Road
headers. The consumer adapter stands in front of them: it receives their request,
maps it, wraps it in an X-Road SOAP 4.0 envelope for the configured client subsystem
and service (a fresh ``id`` per call, ``userId`` from a fixed value, an HTTP header
or an XPath into the request), posts it to the organisation's own gateway (its
IS-facing URL), and maps the answer back into the legacy client's protocol, with the
X-Road headers kept or stripped as configured.

Faults from the exchange are translated into the legacy protocol's own fault form
(SOAP 1.1, SOAP 1.2, or an ``<error>`` document for plain XML) and keep the X-Road
fault code, so the legacy client's operators can still tell ``access_denied`` from
``backend_timeout``.
"""

from __future__ import annotations

import copy
import logging
import ssl
import uuid
from typing import Callable, Mapping as TMapping

import httpx
from lxml import etree

from trust.protocol import id_to_xml, parse_client
from trust.infra import parse_xml

from adapters.backends import ssl_context
from adapters.definition import Consumer
from adapters.errors import AdapterError
from adapters.definition import MappingError, apply_mapping
from trust.protocol import SOAP12_ENV_NS as SOAP12_NS, SOAP_ENV_NS as SOAP11_NS, XROAD_NS
from adapters.soap import AdapterFault, client_fault, read_fault, server_fault

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024


class ConsumerAdapter:
    """One consumer route: legacy protocol on one side, the gateway's SOAP 4.0 on the other."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        transport: httpx.BaseTransport | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.consumer = consumer
        self._new_id = new_id
        verify: ssl.SSLContext | bool = (
            ssl_context(consumer.gateway_tls) if consumer.gateway_url.startswith("https://") else False
        )
        self._client = httpx.Client(verify=verify, timeout=consumer.timeout, trust_env=False, transport=transport)

    def close(self) -> None:
        self._client.close()

    @property
    def content_type(self) -> str:
        if self.consumer.protocol == "soap12":
            return "application/soap+xml; charset=utf-8"
        if self.consumer.protocol == "xml":
            return "application/xml; charset=utf-8"
        return "text/xml; charset=utf-8"

    def handle(self, raw: bytes, headers: TMapping[str, str]) -> tuple[int, bytes]:
        """Answer one legacy request: ``(http_status, body)``; never raises."""
        correlation = str(uuid.uuid4())
        try:
            return 200, self._handle(raw, headers)
        except AdapterFault as fault:
            log.warning("consumer %s fault %s [%s]: %s", self.consumer.name, fault.code, correlation, fault.message)
            return fault.http_status, self._legacy_fault(fault.code, fault.message, correlation)
        except Exception:
            log.exception("consumer %s internal error [%s]", self.consumer.name, correlation)
            return 500, self._legacy_fault("server.adapter.internal_error", "internal error in the adapter", correlation)

    # -- steps ----------------------------------------------------------------------
    def _legacy_payload(self, raw: bytes) -> tuple[etree._Element, etree._Element]:
        try:
            root = parse_xml(raw, max_bytes=MAX_BYTES, what="legacy request")
        except Exception as exc:
            raise client_fault("invalid_xml", f"the request is not acceptable XML: {exc}") from exc
        if self.consumer.protocol == "xml":
            return root, root
        ns = SOAP12_NS if self.consumer.protocol == "soap12" else SOAP11_NS
        if root.tag != f"{{{ns}}}Envelope":
            raise client_fault("invalid_soap", f"the request is not a {self.consumer.protocol.upper()} envelope")
        body = root.find(f"{{{ns}}}Body")
        payload = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        if len(payload) != 1:
            raise client_fault("invalid_body", "the SOAP body must hold exactly one element")
        return root, payload[0]

    def _user_id(self, document: etree._Element, headers: TMapping[str, str]) -> str | None:
        source = self.consumer.user_id
        if source is None:
            return None
        if source.source == "fixed":
            return source.value
        if source.source == "header":
            wanted = source.value.lower()
            value = next((v for k, v in headers.items() if k.lower() == wanted), None)
            if not value:
                raise client_fault("missing_user_id", f"the request lacks the HTTP header {source.value}")
            return value.strip()
        found: object = document.xpath(source.value, namespaces=dict(source.namespaces))
        if isinstance(found, list):
            found = found[0] if found else ""
        if isinstance(found, etree._Element):
            found = found.text or ""
        value = str(found).strip()
        if not value:
            raise client_fault("missing_user_id", "the request does not contain the user id")
        return value

    def _handle(self, raw: bytes, headers: TMapping[str, str]) -> bytes:
        consumer = self.consumer
        document, payload = self._legacy_payload(raw)
        message_id = self._new_id()
        user_id = self._user_id(document, headers)
        context = {
            "userId": user_id or "",
            "client": consumer.client,
            "issue": consumer.issue or "",
            "id": message_id,
            "service": consumer.service.to_text(),
            "serviceCode": consumer.service.service_code,
            "serviceVersion": consumer.service.service_version or "",
        }
        try:
            request_payload = apply_mapping(consumer.request_mapping, payload, context)
        except MappingError as exc:
            raise client_fault("mapping_failed", "the request could not be mapped") from exc
        envelope = self._xroad_envelope(request_payload, message_id, user_id)
        try:
            response = self._client.post(
                consumer.gateway_url, content=envelope, headers={"Content-Type": "text/xml; charset=utf-8",
                                                                  "SOAPAction": '""'}
            )
        except httpx.TimeoutException as exc:
            raise server_fault("gateway_timeout", "the gateway did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise server_fault("gateway_unreachable", "the gateway cannot be reached") from exc
        try:
            answer = parse_xml(response.content, max_bytes=MAX_BYTES, what="gateway answer")
        except Exception as exc:
            raise server_fault("gateway_malformed_response", "the gateway answer is not XML") from exc
        fault = read_fault(answer)
        if fault is not None:
            code, text = fault
            raise AdapterFault(text or "the exchange answered with a fault", code=code or "server.adapter.fault")
        body = answer.find(f"{{{SOAP11_NS}}}Body")
        elements = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        if len(elements) != 1:
            raise server_fault("gateway_malformed_response", "the gateway answer has no payload")
        echoed = answer.findtext(f"{{{SOAP11_NS}}}Header/{{{XROAD_NS}}}id")
        if echoed is not None and echoed.strip() != message_id:
            raise server_fault("inconsistent_response", "the answer belongs to another request")
        try:
            mapped = apply_mapping(consumer.response_mapping, elements[0], context)
        except MappingError as exc:
            raise server_fault("mapping_failed", "the answer could not be mapped") from exc
        return self._legacy_answer(mapped, answer.find(f"{{{SOAP11_NS}}}Header"))

    def _xroad_envelope(self, payload: etree._Element, message_id: str, user_id: str | None) -> bytes:
        consumer = self.consumer
        envelope = etree.Element(
            f"{{{SOAP11_NS}}}Envelope", nsmap={"SOAP-ENV": SOAP11_NS, "xrd": XROAD_NS}
        )
        header = etree.SubElement(envelope, f"{{{SOAP11_NS}}}Header")
        id_to_xml(parse_client(consumer.client), f"{{{XROAD_NS}}}client", header)
        id_to_xml(consumer.service, f"{{{XROAD_NS}}}service", header)
        etree.SubElement(header, f"{{{XROAD_NS}}}id").text = message_id
        if user_id:
            etree.SubElement(header, f"{{{XROAD_NS}}}userId").text = user_id
        if consumer.issue:
            etree.SubElement(header, f"{{{XROAD_NS}}}issue").text = consumer.issue
        etree.SubElement(header, f"{{{XROAD_NS}}}protocolVersion").text = "4.0"
        etree.SubElement(envelope, f"{{{SOAP11_NS}}}Body").append(copy.deepcopy(payload))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    def _legacy_answer(self, payload: etree._Element, xroad_header: etree._Element | None) -> bytes:
        protocol = self.consumer.protocol
        if protocol == "xml":
            return etree.tostring(payload, xml_declaration=True, encoding="UTF-8")
        ns = SOAP12_NS if protocol == "soap12" else SOAP11_NS
        envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={"soapenv": ns})
        if self.consumer.keep_headers and xroad_header is not None:
            header = etree.SubElement(envelope, f"{{{ns}}}Header")
            for child in xroad_header:
                header.append(copy.deepcopy(child))
        etree.SubElement(envelope, f"{{{ns}}}Body").append(copy.deepcopy(payload))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    def _legacy_fault(self, code: str, message: str, correlation: str) -> bytes:
        protocol = self.consumer.protocol
        if protocol == "xml":
            error = etree.Element("error")
            etree.SubElement(error, "type").text = code
            etree.SubElement(error, "message").text = message
            etree.SubElement(error, "detail").text = correlation
            return etree.tostring(error, xml_declaration=True, encoding="UTF-8")
        if protocol == "soap12":
            env = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"env": SOAP12_NS})
            fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP12_NS}}}Body"), f"{{{SOAP12_NS}}}Fault")
            code_el = etree.SubElement(fault, f"{{{SOAP12_NS}}}Code")
            value = "env:Sender" if code.startswith("client.") else "env:Receiver"
            etree.SubElement(code_el, f"{{{SOAP12_NS}}}Value").text = value
            reason = etree.SubElement(fault, f"{{{SOAP12_NS}}}Reason")
            text = etree.SubElement(reason, f"{{{SOAP12_NS}}}Text")
            text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
            text.text = f"{code}: {message}"
            detail = etree.SubElement(fault, f"{{{SOAP12_NS}}}Detail")
            etree.SubElement(detail, "faultCode").text = code
            etree.SubElement(detail, "faultDetail").text = correlation
            return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
        from adapters.soap import build_fault

        return build_fault(code, message, correlation)


__all__ = ["ConsumerAdapter", "AdapterError"]
