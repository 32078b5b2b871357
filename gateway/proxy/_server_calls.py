"""SOAP and REST as the server proxy's exchange sees them: its two strategies.

:func:`gateway.proxy._flow.server_exchange` runs the steps of an exchange; what
differs between the protocols is here: how the request reads, which metaservice or
backend service answers it (and the access decision), how the backend is called,
and how its answer becomes a signed X-Road answer (SOAP: ``requestHash`` spliced in;
REST: the ``X-Road-*`` response headers). A strategy lives for one exchange.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from trust.errors import IdentifierError
from trust.protocol import (
    H_CLIENT, H_ID, H_REQUEST_ID, H_SERVICE, SoapFaultMessage, SoapMessage, XRoadFault,
    check_xroad_header_sizes,
    filter_headers, header_value, insert_request_hash, multipart_related, parse_client, parse_header_part,
    parse_path, parse_server, parse_soap, provider_response_headers, response_header_part,
    rest_purpose, rest_request_hash, soap_purpose,
)

from gateway.messagelog import LogEntry
from gateway.monitoring import OpNote
from gateway.net import (
    MIME_REST_BODY, MIME_REST_REQUEST, MIME_REST_RESPONSE, HttpError, HttpResponse, HttpTimeout, Part,
    ResponseTooLarge,
)
from gateway.serverconf import ServiceInfo
from gateway.signing import MessageSignature
from gateway.tracker import SeenRequest

from . import _metaservice_calls as metaservice_calls
from ._backends import BackendClients
from ._entries import ExchangeIds, declared_purpose
from ._flow import SERVER_ORIGIN, ServedAnswer, attachment_part
from ._gateway_parts import GatewayParts


class SoapServed:
    """A SOAP request from a consumer gateway, answered by a metaservice or the provider's backend."""

    def __init__(self, parts: GatewayParts, msg: list[Part], x_request_id: str, soap_action: str | None,
                 parsed: SoapMessage | None = None) -> None:
        first = msg[0]
        # the transport decoder has read the SOAP part already; read it here only if it did not
        soap = parsed if parsed is not None else parse_soap(first.data, first.content_type, role="request")
        if isinstance(soap, SoapFaultMessage):
            raise XRoadFault("invalid_message", "a request must not be a SOAP fault")
        h = soap.header
        assert h.service is not None
        self.ids = ExchangeIds(side="server", kind="SOAP", client=h.client, service=h.service,
                               query_id=h.query_id, x_request_id=x_request_id,
                               purpose=soap_purpose(soap.envelope))
        self.security_server = h.security_server
        self.msg = msg
        self._parts, self._soap, self._soap_action = parts, soap, soap_action
        self._meta: tuple[bytes, str] | None = None
        self._local: ServiceInfo | None = None

    def identify(self, note: OpNote) -> None:
        h = self._soap.header
        note.identify(self.ids.client, self.ids.service, "WSDL", x_request_id=self.ids.x_request_id,
                      request_size=len(self.msg[0].data), message_id=h.query_id, user_id=h.user_id,
                      issue=h.issue, protocol_version=h.protocol_version)

    def route(self, signature: MessageSignature, at: dt.datetime) -> LogEntry:
        self._meta = metaservice_calls.soap_metaservice(self._parts, self._soap, at)
        if self._meta is None:
            self._local = allowed_service(self._parts, self.ids, "SOAP", at=at)
        return self.ids.request(self.msg[0].data, signature,
                                attachments=[(x.content_type, x.data) for x in self.msg[1:]])

    def answer(self) -> ServedAnswer:
        if self._meta is not None:
            answer_bytes, answer_type = self._meta
        else:
            assert self._local is not None
            answer_bytes, answer_type = self._call_backend(self._local)
        try:
            answer = parse_soap(answer_bytes, answer_type, role="response")
        except XRoadFault as fault:
            raise fault.service_failed(SERVER_ORIGIN) from None
        atts: list[Part] = []
        if isinstance(answer, SoapFaultMessage):
            out = answer.soap_bytes  # a provider IS fault travels signed like any answer
            out_type = answer.content_type if not answer.attachments else "text/xml; charset=utf-8"
        else:
            out = insert_request_hash(answer, self.msg[0].data)
            out_type = answer.soap_content_type
            atts = [attachment_part(a) for a in answer.attachments]
        signed = ((out_type.split(";")[0].strip(), out), *((a.mime, a.data) for a in atts))
        return ServedAnswer(signed, [Part(out_type, out), *atts],
                            (("X-Hash-Algorithm", "SHA-512"), ("X-Original-Content-Type", answer_type)))

    def seen(self) -> SeenRequest | None:
        h, ids = self._soap.header, self.ids
        return None if self._meta is not None else SeenRequest(
            "SOAP", ids.client, ids.service, ids.query_id, h.user_id, h.issue, soap=self._soap)

    def _call_backend(self, local: ServiceInfo) -> tuple[bytes, str]:
        part = self.msg[0]
        data, ctype = part.data, part.content_type
        if len(self.msg) > 1:  # SwA: rebuild multipart/related with the attachments' MIME headers
            ctype, data = multipart_related(
                part.data, [((("Content-Type", x.content_type), *x.headers), x.data) for x in self.msg[1:]],
                boundary=f"xroad{uuid.uuid4().hex}", soap_content_type=part.content_type)
        headers = {"Content-Type": ctype}
        if self._soap_action is not None:
            headers["SOAPAction"] = self._soap_action
        resp = call_backend(self._parts.backends, local, "POST", local.url, headers, data)
        ctype = resp.headers.get("content-type", "")
        if not ctype.lower().startswith(("text/xml", "multipart/related")):
            raise XRoadFault(f"{SERVER_ORIGIN}.service_failed.invalid_content_type",
                             f"the service answered with content type {ctype[:60]!r}")
        return resp.content, ctype


class RestServed:
    """An X-Road REST request from a consumer gateway, answered by a metaservice or the backend."""

    def __init__(self, parts: GatewayParts, msg: list[Part], x_request_id: str) -> None:
        head_part = msg[0]
        if head_part.mime != MIME_REST_REQUEST:
            raise XRoadFault("missing_rest", "the REST request has no header part")
        body_parts = [x for x in msg[1:] if x.mime == MIME_REST_BODY]
        self._body = body_parts[0].data if body_parts else None
        head = parse_header_part(head_part.data, request=True)
        method, target = (head.method or "").upper(), head.path or ""
        path, _, query = target.partition("?")
        # a rogue consumer gateway can sign anything: the path is checked here again, and
        # what passed is exactly what the access rights see and the backend gets
        rest = parse_path(path, query, identifier_fault="invalid_request")
        check_xroad_header_sizes(head.headers)  # the message log keeps X-Road-Id in 255 characters
        service = rest.service
        try:
            client = parse_client(header_value(head.headers, H_CLIENT) or "")
            server_text = header_value(head.headers, "X-Road-Security-Server")
            self.security_server = parse_server(server_text) if server_text else None
        except IdentifierError as exc:
            raise XRoadFault("invalid_request", f"malformed identifier: {exc}") from None
        query_id = header_value(head.headers, H_ID) or x_request_id
        self.ids = ExchangeIds(side="server", kind="REST", client=client, service=service, query_id=query_id,
                               x_request_id=x_request_id, purpose=rest_purpose(head.headers))
        self.msg = msg
        self._parts, self._head, self._method, self._query = parts, head, method, query
        self._rest_path = rest.path
        self._meta: tuple[int, str, list[tuple[str, str]], bytes] | None = None
        self._local: ServiceInfo | None = None
        self._request_hash = ""

    def identify(self, note: OpNote) -> None:
        note.identify(self.ids.client, self.ids.service, "REST", x_request_id=self.ids.x_request_id,
                      request_size=len(self.msg[0].data), message_id=self.ids.query_id, rest_method=self._method,
                      rest_path=self._rest_path or "/")

    def route(self, signature: MessageSignature, at: dt.datetime) -> LogEntry:
        body, ids = self._body, self.ids
        self._request_hash = rest_request_hash(self.msg[0].data,
                                                    hashlib.sha512(body).digest() if body else None)
        entry = ids.request(self.msg[0].data, signature, body=body)
        self._meta = metaservice_calls.rest_metaservice(self._parts, ids.client, ids.service, self._method,
                                                        self._rest_path, self._query, self._head, at)
        if self._meta is None:
            self._local = allowed_service(self._parts, ids, "REST", self._method, self._rest_path or "/", at=at)
        return entry

    def answer(self) -> ServedAnswer:
        ids = self.ids
        if self._meta is not None:
            status, reason, out_headers, out_body = self._meta
        else:
            assert self._local is not None
            status, reason, out_headers, out_body = self._call_backend(self._local)
        out_headers = provider_response_headers(out_headers, client=ids.client, service=ids.service,
                                                     query_id=ids.query_id, request_id=ids.x_request_id,
                                                     request_hash=self._request_hash)
        out_head = response_header_part(status, reason, out_headers)
        signed = ((MIME_REST_RESPONSE, out_head), *(((MIME_REST_BODY, out_body),) if out_body else ()))
        parts = [Part(MIME_REST_RESPONSE, out_head)] + ([Part(MIME_REST_BODY, out_body)] if out_body else [])
        return ServedAnswer(signed, parts, (("X-Road-Message-Type", "REST"),))

    def seen(self) -> SeenRequest | None:
        ids, headers = self.ids, self._head.headers
        return None if self._meta is not None else SeenRequest(
            "REST", ids.client, ids.service, ids.query_id, header_value(headers, "X-Road-UserId"),
            header_value(headers, "X-Road-Issue"), rest_path=self._rest_path or "/", rest_query=self._query,
            headers=tuple(headers))

    def _call_backend(self, local: ServiceInfo) -> tuple[int, str, list[tuple[str, str]], bytes]:
        head, ids, query = self._head, self.ids, self._query
        url = local.url.rstrip("/") + self._rest_path + (("?" + query) if query else "")
        fwd = filter_headers(head.headers)
        fwd += [(H_SERVICE, ids.service.to_text()), (H_REQUEST_ID, ids.x_request_id)]
        if header_value(head.headers, H_ID) is None:
            fwd.append((H_ID, ids.query_id))
        resp = call_backend(self._parts.backends, local, self._method, url, fwd, self._body)
        out_headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() != "x-road-error"]
        return resp.status, resp.reason or "", out_headers, resp.content


def allowed_service(parts: GatewayParts, ids: ExchangeIds, protocol: str, method: str | None = None,
                    path: str | None = None, *, at: dt.datetime) -> ServiceInfo:
    """Steps 5 to 8: exists, type, access right (with its purposes and window, weighed at
    ``at``), enabled (``gateway.serverconf._access`` decides)."""
    decision = parts.access.decide(ids.client, ids.service, protocol=protocol, method=method, path=path,
                                   purpose=declared_purpose(ids), at=at)
    if not decision.allowed:
        raise decision.fault(SERVER_ORIGIN)
    assert decision.service is not None
    return decision.service


def call_backend(backends: BackendClients, local: ServiceInfo, method: str, url: str,
                 headers: dict[str, str] | list[tuple[str, str]], content: bytes | None) -> HttpResponse:
    """One backend call with the service's own timeout and TLS setting; failures as X-Road faults."""
    try:
        pool = backends.get(local.tls_verify, local.tls_ca_pem)
        return pool.request(method, url, headers=headers, body=content, timeout=local.timeout_seconds,
                            connect_timeout=local.timeout_seconds)
    except HttpTimeout as exc:
        raise XRoadFault(f"{SERVER_ORIGIN}.service_failed.network_error",
                         f"the service {local.id.to_text()} did not answer in time") from exc
    except ResponseTooLarge as exc:
        raise XRoadFault(f"{SERVER_ORIGIN}.service_failed.invalid_message",
                         f"the service {local.id.to_text()} answered more than the message size limit") from exc
    except HttpError as exc:
        raise XRoadFault(f"{SERVER_ORIGIN}.service_failed.network_error",
                         f"cannot reach the service {local.id.to_text()}") from exc
