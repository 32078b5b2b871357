"""The server proxy: the gateway-facing WSGI app on the mutual-TLS port.

It receives a transport message from a consumer gateway, runs the provider-side
checks in X-Road's order with X-Road's codes (NOTES.md section 7):

1. ``securityServer`` header names this gateway      -> ``invalid_security_server``
2. the provider is registered here                    -> ``unknown_member``
3. the client's TLS auth certificate: registered for a gateway serving the client,
   chain and OCSP good                                -> ``ssl_authentication_failed``
4. the signature (by the client member's sign cert)   -> signature codes
5. the service exists                                 -> ``unknown_service``
6. its type matches the protocol                      -> ``service_type``
7. an access right for the service code (version ignored; REST: method and path)
   for the client, a global group or a local group    -> ``access_denied``
8. the service is not disabled                        -> ``service_disabled``

then calls the backend with the service's own timeout and TLS settings, adds
``requestHash`` (SOAP) or the ``X-Road-*`` response headers (REST), signs the
answer, logs request and answer, and returns them as a transport message. Any
failure is answered as a whole ``text/xml`` SOAP fault with a
``server.serverproxy.*`` code, which the consumer gateway relays.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import uuid
from typing import Any, Iterable

from trust.protocol import ClientId, ServiceId, parse_client, parse_service
from trust.errors import IdentifierError

from gateway.proxy import _metaservice_calls as metaservice_calls
from trust.protocol import _rest as rest
from gateway.signing import MessageSignature
from ._context import SignedParts
from gateway.serverconf import ServiceInfo
from ._entries import ExchangeIds, request_logged_on_failure
from ._flow import PROXY_VERSION, attachment_part, check_accepting
from ._gateway_parts import GatewayParts
from ._wsgi import StartResponse, read_body
from trust.protocol import XRoadFault, internal_fault
from gateway.net import HttpError, HttpResponse, HttpTimeout, ResponseTooLarge
from gateway.monitoring import OpNote
from trust.protocol import SoapFaultMessage, SoapMessage, parse_soap
from trust.protocol import insert_request_hash, multipart_related
from gateway.net import (
    MIME_REST_BODY, MIME_REST_REQUEST, MIME_REST_RESPONSE, Part, decode_message, encode_message,
)

log = logging.getLogger("sild.gateway.serverproxy")

ORIGIN = "server.serverproxy"
MAX_MESSAGE = 64 * 1024 * 1024


class ServerProxy:
    """WSGI app; the cheroot mutual-TLS server puts the peer certificate in the environ."""

    def __init__(self, parts: GatewayParts, *, ocsp_app: Any = None) -> None:
        self.parts = parts
        self._ocsp_app = ocsp_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "GET" and self._ocsp_app is not None:
            # OCSP responses of this gateway, fetched by peers over the same pooled connection
            return self._ocsp_app(environ, start_response)  # type: ignore[no-any-return]
        feed = self.parts.monitoring
        note = OpNote.start("server")
        failed: XRoadFault | None = None
        try:
            status, headers, body = self._handle(environ, note)
        except XRoadFault as fault:
            failed = fault.at(ORIGIN)
            status, headers, body = self._fault(failed)
        except Exception:  # noqa: BLE001 - a bug must not crash the port nor leak details
            failed = internal_fault(ORIGIN)
            log.exception("server proxy failure %s", failed.correlation_id)
            status, headers, body = self._fault(failed)
        start_response(status, headers + [("Content-Length", str(len(body)))])
        if feed is not None and note.identified:
            note.response_size = len(body)
            feed.finish(note, fault_code=failed.fault_code if failed else None,
                        fault_string=failed.message if failed else None)
        return [body]

    @staticmethod
    def _fault(fault: XRoadFault) -> tuple[str, list[tuple[str, str]], bytes]:
        log.info("refused: %s %s (%s)", fault.fault_code, fault.message, fault.correlation_id)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], fault.to_soap()

    # -- the exchange ------------------------------------------------------------------
    def _handle(self, environ: dict[str, Any], note: OpNote) -> tuple[str, list[tuple[str, str]], bytes]:
        p = self.parts
        if environ["REQUEST_METHOD"] != "POST":
            raise XRoadFault("invalid_http_method", "the server proxy accepts POST only")
        at = p.clock()
        p.conf.check_valid(at)
        cert_pem = environ.get("SSL_CLIENT_CERT")
        if not cert_pem:
            raise XRoadFault("ssl_authentication_failed", "the peer presented no TLS certificate")
        cert_der = ssl.PEM_cert_to_DER_cert(cert_pem)
        body = read_body(environ, MAX_MESSAGE)
        got = decode_message(environ.get("CONTENT_TYPE", ""), body, role="request", origin=ORIGIN,
                             original_content_type=environ.get("HTTP_X_ORIGINAL_CONTENT_TYPE"))
        if got.signature is None or not got.message:
            raise XRoadFault("missing_signature", "the request carries no signature")
        msg_parts, ocsp = list(got.message), list(got.ocsp)
        signature = MessageSignature(got.signature, got.hash_chain_result, got.hash_chain)
        x_request_id = environ.get("HTTP_X_ROAD_REQUEST_ID") or str(uuid.uuid4())
        if msg_parts[0].mime == MIME_REST_REQUEST:
            return self._rest(msg_parts, signature, cert_der, ocsp, x_request_id, at, note)
        return self._soap(msg_parts, signature, cert_der, ocsp, x_request_id, at,
                          environ.get("HTTP_X_ORIGINAL_SOAPACTION"), note, got.soap)

    def _check_peer(self, client: ClientId, provider: ClientId, security_server: Any,
                    cert_der: bytes, ocsp: list[bytes], at: Any) -> None:
        p = self.parts
        if security_server is not None and security_server != p.server_id:
            raise XRoadFault("invalid_security_server",
                             f"security server {security_server.to_text()} is not this gateway")
        info = p.serverconf.snapshot().client(provider)
        if info is None or not info.registered:
            raise XRoadFault("unknown_member", f"service provider {provider.to_text()} is not served here")
        entry = p.conf.server_with_auth_cert(hashlib.sha256(cert_der).digest(), at)
        if entry is None or not p.conf.is_client_of(entry.server_id, client, at):
            raise XRoadFault("ssl_authentication_failed",
                             f"the TLS certificate is not registered for a gateway of {client.to_text()}")
        p.auth_check.check(cert_der, ocsp, instance=entry.server_id.instance, at=at)

    def _service(self, service: ServiceId, client: ClientId, protocol: str,
                 method: str | None = None, path: str | None = None) -> ServiceInfo:
        """Steps 5 to 8: exists, type, access right, enabled (``gateway.serverconf._access`` decides)."""
        decision = self.parts.access.decide(client, service, protocol=protocol, method=method, path=path)
        if not decision.allowed:
            raise decision.fault(ORIGIN)
        assert decision.service is not None
        return decision.service

    # -- SOAP ----------------------------------------------------------------------------
    def _soap(self, msg_parts: list[Part], signature: MessageSignature, cert_der: bytes, ocsp: list[bytes],
              x_request_id: str, at: Any, soap_action: str | None,
              note: OpNote, parsed: SoapMessage | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        p = self.parts
        first = msg_parts[0]
        # the transport decoder has read the SOAP part already; read it here only if it did not
        soap = parsed if parsed is not None else parse_soap(first.data, first.content_type, role="request")
        if isinstance(soap, SoapFaultMessage):
            raise XRoadFault("invalid_message", "a request must not be a SOAP fault")
        h = soap.header
        assert h.service is not None
        self._check_peer(h.client, h.service.provider, h.security_server, cert_der, ocsp, at)
        check_accepting(p, at)
        note.identify(h.client, h.service, "WSDL", x_request_id=x_request_id, request_size=len(first.data),
                      message_id=h.query_id, user_id=h.user_id, issue=h.issue, protocol_version=h.protocol_version)
        signed = SignedParts(tuple((x.mime, x.data) for x in msg_parts))
        p.signing.verify(signature.signature, signed, signer=h.client.member, at=at,
                         hash_chain_result=signature.hash_chain_result, hash_chain=signature.hash_chain)
        meta = metaservice_calls.soap_metaservice(p, soap, at)
        local = self._service(h.service, h.client, "SOAP") if meta is None else None
        ids = ExchangeIds(side="server", kind="SOAP", client=h.client, service=h.service, query_id=h.query_id,
                          x_request_id=x_request_id)
        request_entry = ids.request(first.data, signature, attachments=[(x.content_type, x.data) for x in msg_parts[1:]])
        with request_logged_on_failure(p.log, request_entry):
            if meta is not None:
                answer_bytes, answer_type = meta
            else:
                assert local is not None
                answer_bytes, answer_type = self._call_soap_backend(local, msg_parts, soap_action)
            try:
                answer = parse_soap(answer_bytes, answer_type, role="response")
            except XRoadFault as fault:
                raise fault.service_failed(ORIGIN) from None
            atts: list[Part] = []
            if isinstance(answer, SoapFaultMessage):
                out = answer.soap_bytes  # a provider IS fault travels signed like any answer
                out_type = answer.content_type if not answer.attachments else "text/xml; charset=utf-8"
            else:
                out = insert_request_hash(answer, first.data)
                out_type = answer.soap_content_type
                atts = [attachment_part(a) for a in answer.attachments]
            signed_out = [(out_type.split(";")[0].strip(), out)] + [(a.mime, a.data) for a in atts]
            sig = p.signing.sign_message(SignedParts(tuple(signed_out)), member=h.service.provider.member)
            # request and answer on record together, before the answer leaves
            p.log.append_all([request_entry, ids.response(out, sig, attachments=[(a.content_type, a.data) for a in atts],
                                                          at=p.clock())])
        ctype, body = encode_message([Part(out_type, out), *atts], signature=sig.signature,
                                     hash_chain_result=sig.hash_chain_result, hash_chain=sig.hash_chain)
        return "200 OK", [("Content-Type", ctype), ("X-Road-Request-Id", x_request_id), ("X-Hash-Algorithm", "SHA-512"),
                          ("X-Original-Content-Type", answer_type), ("X-Proxy-Version", PROXY_VERSION)], body

    def _call_soap_backend(self, local: ServiceInfo, parts: list[Part], soap_action: str | None) -> tuple[bytes, str]:
        part = parts[0]
        data, ctype = part.data, part.content_type
        if len(parts) > 1:  # SwA: rebuild multipart/related with the attachments' MIME headers
            ctype, data = multipart_related(
                part.data, [((("Content-Type", x.content_type), *x.headers), x.data) for x in parts[1:]],
                boundary=f"xroad{uuid.uuid4().hex}", soap_content_type=part.content_type)
        headers = {"Content-Type": ctype}
        if soap_action is not None:
            headers["SOAPAction"] = soap_action
        resp = self._backend(local, "POST", local.url, headers, data)
        ctype = resp.headers.get("content-type", "")
        if not ctype.lower().startswith(("text/xml", "multipart/related")):
            raise XRoadFault(f"{ORIGIN}.service_failed.invalid_content_type",
                             f"the service answered with content type {ctype[:60]!r}")
        return resp.content, ctype

    def _backend(self, local: ServiceInfo, method: str, url: str, headers: dict[str, str] | list[tuple[str, str]],
                 content: bytes | None) -> HttpResponse:
        try:
            pool = self.parts.backends.get(local.tls_verify, local.tls_ca_pem)
            return pool.request(method, url, headers=headers, body=content, timeout=local.timeout_seconds,
                                connect_timeout=local.timeout_seconds)
        except HttpTimeout as exc:
            raise XRoadFault(f"{ORIGIN}.service_failed.network_error",
                             f"the service {local.id.to_text()} did not answer in time") from exc
        except ResponseTooLarge as exc:
            raise XRoadFault(f"{ORIGIN}.service_failed.invalid_message",
                             f"the service {local.id.to_text()} answered more than the message size limit"
                             ) from exc
        except HttpError as exc:
            raise XRoadFault(f"{ORIGIN}.service_failed.network_error",
                             f"cannot reach the service {local.id.to_text()}") from exc

    # -- REST ----------------------------------------------------------------------------
    def _rest(self, msg_parts: list[Part], signature: MessageSignature, cert_der: bytes, ocsp: list[bytes],
              x_request_id: str, at: Any, note: OpNote) -> tuple[str, list[tuple[str, str]], bytes]:
        p = self.parts
        head_part = msg_parts[0]
        if head_part.mime != MIME_REST_REQUEST:
            raise XRoadFault("missing_rest", "the REST request has no header part")
        body_parts = [x for x in msg_parts[1:] if x.mime == MIME_REST_BODY]
        req_body = body_parts[0].data if body_parts else None
        head = rest.parse_header_part(head_part.data, request=True)
        method, target = (head.method or "").upper(), head.path or ""
        path, _, query = target.partition("?")
        segs = path.split("/")
        if len(segs) < 7 or segs[1] != "r1":
            raise XRoadFault("invalid_request", "REST target must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE")
        try:
            service = parse_service("/".join(segs[2:7]))
            client = parse_client(rest.header_value(head.headers, rest.H_CLIENT) or "")
            server_text = rest.header_value(head.headers, "X-Road-Security-Server")
            from trust.protocol import parse_server
            security_server = parse_server(server_text) if server_text else None
        except IdentifierError as exc:
            raise XRoadFault("invalid_request", f"malformed identifier: {exc}") from None
        query_id = rest.header_value(head.headers, rest.H_ID) or x_request_id
        rest_path = "/" + "/".join(segs[7:]) if len(segs) > 7 else ""
        self._check_peer(client, service.provider, security_server, cert_der, ocsp, at)
        check_accepting(p, at)
        note.identify(client, service, "REST", x_request_id=x_request_id, request_size=len(head_part.data),
                      message_id=query_id, rest_method=method, rest_path=rest_path or "/")
        signed = SignedParts(tuple((x.mime, x.data) for x in msg_parts))
        p.signing.verify(signature.signature, signed, signer=client.member, at=at,
                         hash_chain_result=signature.hash_chain_result, hash_chain=signature.hash_chain)
        req_hash = rest.rest_request_hash(head_part.data, hashlib.sha512(req_body).digest() if req_body else None)
        ids = ExchangeIds(side="server", kind="REST", client=client, service=service, query_id=query_id,
                          x_request_id=x_request_id)
        request_entry = ids.request(head_part.data, signature, body=req_body)
        meta = metaservice_calls.rest_metaservice(p, client, service, method, rest_path, query, head, at)
        local = self._service(service, client, "REST", method, rest_path or "/") if meta is None else None
        with request_logged_on_failure(p.log, request_entry):
            if meta is not None:
                status, reason, out_headers, out_body = meta
            else:
                assert local is not None
                url = local.url.rstrip("/") + rest_path + (("?" + query) if query else "")
                fwd = rest.filter_headers(head.headers)
                fwd += [(rest.H_SERVICE, service.to_text()), (rest.H_REQUEST_ID, x_request_id)]
                if rest.header_value(head.headers, rest.H_ID) is None:
                    fwd.append((rest.H_ID, query_id))
                resp = self._backend(local, method, url, fwd, req_body)
                status, reason = resp.status, resp.reason or ""
                out_headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() != "x-road-error"]
                out_body = resp.content
            out_headers = rest.provider_response_headers(out_headers, client=client, service=service,
                                                         query_id=query_id, request_id=x_request_id,
                                                         request_hash=req_hash)
            out_head = rest.response_header_part(status, reason, out_headers)
            signed_parts = [(MIME_REST_RESPONSE, out_head)] + ([(MIME_REST_BODY, out_body)] if out_body else [])
            sig = p.signing.sign_message(SignedParts(tuple(signed_parts)), member=service.provider.member)
            # request and answer on record together, before the answer leaves
            p.log.append_all([request_entry, ids.response(out_head, sig, body=out_body or None, at=p.clock())])
        parts = [Part(MIME_REST_RESPONSE, out_head)]
        if out_body:
            parts.append(Part(MIME_REST_BODY, out_body))
        ctype, body = encode_message(parts, signature=sig.signature, hash_chain_result=sig.hash_chain_result,
                                     hash_chain=sig.hash_chain)
        return "200 OK", [("Content-Type", ctype), ("X-Road-Request-Id", x_request_id),
                          ("X-Road-Message-Type", "REST"), ("X-Proxy-Version", PROXY_VERSION)], body

