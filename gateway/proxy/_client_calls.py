"""SOAP and REST as the client proxy's exchange sees them: its two strategies.

:func:`gateway.proxy._flow.client_exchange` runs the steps of an exchange; what
differs between the protocols is here: which parts the signature covers, the
transport headers, how the answer is read and checked against the request (SOAP:
echoed header and ``requestHash``; REST: ``X-Road-Request-Hash``), and what the IS
gets back. A strategy is built once the client proxy has checked the request
(:class:`gateway.proxy._client.ClientProxy`), so it holds only what is already known.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from trust.errors import IdentifierError
from trust.protocol import (
    ClientId, H_ID, H_REQUEST_HASH, INVALID_REQUEST, HeaderPart, SecurityServerId, ServiceId, SoapFaultMessage,
    SoapMessage, XRoadFault, check_consistency, check_xroad_header_sizes, consumer_request_headers, filter_headers,
    header_value, multipart_related, parse_client, parse_header_part, parse_path, parse_server, parse_soap,
    request_header_part, rest_purpose, rest_request_hash, soap_purpose, verify_request_hash,
)

from gateway.messagelog import LogEntry
from gateway.net import MIME_REST_BODY, MIME_REST_REQUEST, MIME_REST_RESPONSE, Part, Received
from gateway.signing import MessageSignature

from ._entries import ExchangeIds
from ._flow import Reply, attachment_part
from ._wsgi import wsgi_headers


class SoapCall:
    """A SOAP 4.0 request (plain or with SwA/MTOM attachments) on its way to the provider."""

    records_peer = True

    def __init__(self, soap: SoapMessage, x_request_id: str, soap_action: str | None) -> None:
        h = soap.header
        assert h.service is not None
        self.soap = soap
        try:  # a malformed purpose is refused before anything is signed (issue 20)
            purpose = soap_purpose(soap.envelope)
        except XRoadFault as fault:
            raise fault.at("client") from None
        self.ids = ExchangeIds(side="client", kind="SOAP", client=h.client, service=h.service,
                               query_id=h.query_id, x_request_id=x_request_id, purpose=purpose)
        mime = soap.soap_content_type.split(";")[0].strip()
        self._attachments = [attachment_part(a) for a in soap.attachments]
        self.signed = ((mime, soap.soap_bytes), *((a.mime, a.data) for a in self._attachments))
        self.parts = [Part(soap.soap_content_type, soap.soap_bytes), *self._attachments]
        self.headers = {"X-Road-Request-Id": x_request_id, "X-Original-Content-Type": soap.content_type}
        if soap_action is not None:
            self.headers["X-Original-SOAPAction"] = soap_action

    def request_entry(self, sig: MessageSignature) -> LogEntry:
        return self.ids.request(self.soap.soap_bytes, sig,
                                attachments=[(a.content_type, a.data) for a in self._attachments])

    def check_parts(self, msg: list[Part]) -> None:
        pass

    def read_answer(self, got: Received, msg: list[Part]) -> Any:
        # read once by the transport decoder; an answer with attachments is read as the IS will get it
        if got.soap is not None and len(msg) == 1:
            return got.soap
        return parse_soap(msg[0].data, msg[0].content_type, role="response")

    def answer_entry(self, answer: Any, msg: list[Part], signature: MessageSignature,
                     clock: Callable[[], dt.datetime]) -> LogEntry:
        if isinstance(answer, SoapFaultMessage):  # a provider IS fault: relayed as it is
            return self.ids.response(answer.soap_bytes, signature, at=clock())
        check_consistency(self.soap, answer)
        verify_request_hash(answer, self.soap.soap_bytes)
        return self.ids.response(answer.soap_bytes, signature, attachments=[(x.content_type, x.data) for x in msg[1:]],
                                 at=clock())

    def reply(self, answer: Any, msg: list[Part]) -> Reply:
        if isinstance(answer, SoapFaultMessage):
            return "500 Internal Server Error", [("Content-Type", answer.content_type)], answer.soap_bytes
        if len(msg) == 1:
            return "200 OK", [("Content-Type", answer.content_type)], answer.soap_bytes
        ctype, out = multipart_related(
            msg[0].data, [((("Content-Type", x.content_type), *x.headers), x.data) for x in msg[1:]],
            boundary=f"xroad{uuid.uuid4().hex}", soap_content_type=msg[0].content_type)
        return "200 OK", [("Content-Type", ctype)], out


@dataclass(frozen=True)
class RestTarget:
    """What an IS's REST request names: ``/r1/{service}[/path]`` and the ``X-Road-*`` headers."""

    method: str
    path: str
    client: ClientId
    service: ServiceId
    security_server: SecurityServerId | None
    headers: list[tuple[str, str]]
    x_request_id: str

    @property
    def rest_path(self) -> str:
        return "/" + "/".join(self.path.split("/")[7:])

    @classmethod
    def read(cls, environ: dict[str, Any], method: str, path: str) -> RestTarget:
        """``path`` is the raw request path (percent-encoding kept, no query): the provider
        forwards exactly what this gateway checked and signed (see :func:`trust.protocol.check_service_path`)."""
        try:
            service = parse_path(path, identifier_fault=INVALID_REQUEST).service
            in_headers = wsgi_headers(environ)
            check_xroad_header_sizes(in_headers)
        except XRoadFault as fault:
            raise fault.at("client") from None
        client_text = None
        for name, value in in_headers:
            if name.lower() == "x-road-client":
                client_text = value
        if not client_text:
            raise XRoadFault("client.missing_header", "the X-Road-Client header is required")
        security_server: SecurityServerId | None = None
        try:
            client = parse_client(client_text)
            for name, value in in_headers:
                if name.lower() == "x-road-security-server":
                    security_server = parse_server(value)
        except IdentifierError as exc:
            raise XRoadFault("client.invalid_request", f"malformed identifier: {exc}") from None
        return cls(method, path, client, service, security_server, in_headers, str(uuid.uuid4()))


class RestCall:
    """An X-Road REST request (its header part and body) on its way to the provider."""

    records_peer = True  # the provider's gateway and the answer size, as for SOAP (issue 17)

    def __init__(self, target: RestTarget, body: bytes, query: str, *, own_instance: str) -> None:
        uri = target.path + (("?" + query) if query else "")
        out_headers = consumer_request_headers(target.headers, request_id=target.x_request_id,
                                                    query_id=f"{own_instance}-{uuid.uuid4()}")
        query_id = header_value(out_headers, H_ID) or target.x_request_id
        try:
            head = request_header_part(target.method, uri, out_headers)
            purpose = rest_purpose(out_headers)  # passed on unchanged in the signed header part
        except XRoadFault as fault:
            raise fault.at("client") from None
        self.head, self.body = head, body
        self.ids = ExchangeIds(side="client", kind="REST", client=target.client, service=target.service,
                               query_id=query_id, x_request_id=target.x_request_id, purpose=purpose)
        self.signed = ((MIME_REST_REQUEST, head), *(((MIME_REST_BODY, body),) if body else ()))
        self.parts = [Part(MIME_REST_REQUEST, head)] + ([Part(MIME_REST_BODY, body)] if body else [])
        self.headers = {"X-Road-Request-Id": target.x_request_id, "X-Road-Message-Type": "REST"}

    def request_entry(self, sig: MessageSignature) -> LogEntry:
        return self.ids.request(self.head, sig, body=self.body or None)

    def check_parts(self, msg: list[Part]) -> None:
        if msg[0].mime != MIME_REST_RESPONSE:
            raise XRoadFault("invalid_message", "the answer lacks its REST header part")

    def read_answer(self, got: Received, msg: list[Part]) -> tuple[HeaderPart, bytes]:
        rhead = parse_header_part(msg[0].data, request=False)
        return rhead, next((x.data for x in msg[1:] if x.mime == MIME_REST_BODY), b"")

    def answer_entry(self, answer: tuple[HeaderPart, bytes], msg: list[Part], signature: MessageSignature,
                     clock: Callable[[], dt.datetime]) -> LogEntry:
        rhead, rbody = answer
        body = self.body
        expected = rest_request_hash(self.head, hashlib.sha512(body).digest() if body else None)
        if header_value(rhead.headers, H_REQUEST_HASH) != expected:
            raise XRoadFault("inconsistent_response", "the answer's X-Road-Request-Hash does not match the request")
        return self.ids.response(msg[0].data, signature, body=rbody or None, at=clock())

    def reply(self, answer: tuple[HeaderPart, bytes], msg: list[Part]) -> Reply:
        rhead, rbody = answer
        status = f"{rhead.status} {rhead.reason or ''}".strip()
        return status, filter_headers(rhead.headers, drop_gateway_set=False), rbody
