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

This module reads the transport message and answers; the steps above run in
:func:`gateway.proxy._flow.server_exchange`, with SOAP's and REST's differences in
:mod:`gateway.proxy._server_calls`.
"""

from __future__ import annotations

import logging
import ssl
import uuid
from typing import Any, Iterable

from trust.protocol import XRoadFault, internal_fault

from gateway.monitoring import OpNote
from gateway.net import MIME_REST_REQUEST, HttpResponse, decode_message
from gateway.serverconf import ServiceInfo
from gateway.signing import MessageSignature

from ._flow import SERVER_ORIGIN, Reply, ServedCall, server_exchange
from ._gateway_parts import GatewayParts
from ._server_calls import RestServed, SoapServed, call_backend
from ._wsgi import MessageBudget, StartResponse, held_body

log = logging.getLogger("sild.gateway.serverproxy")

ORIGIN = SERVER_ORIGIN
MAX_MESSAGE = 64 * 1024 * 1024


class ServerProxy:
    """WSGI app; the cheroot mutual-TLS server puts the peer certificate in the environ."""

    def __init__(self, parts: GatewayParts, *, ocsp_app: Any = None, budget: MessageBudget | None = None) -> None:
        self.parts = parts
        self.budget = budget or MessageBudget()  # large peer messages held in memory at once
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
    def _handle(self, environ: dict[str, Any], note: OpNote) -> Reply:
        p = self.parts
        if environ["REQUEST_METHOD"] != "POST":
            raise XRoadFault("invalid_http_method", "the server proxy accepts POST only")
        at = p.clock()
        p.conf.check_valid(at)
        cert_pem = environ.get("SSL_CLIENT_CERT")
        if not cert_pem:
            raise XRoadFault("ssl_authentication_failed", "the peer presented no TLS certificate")
        cert_der = ssl.PEM_cert_to_DER_cert(cert_pem)
        with held_body(environ, MAX_MESSAGE, self.budget) as body:
            got = decode_message(environ.get("CONTENT_TYPE", ""), body.read(), role="request", origin=ORIGIN,
                                 original_content_type=environ.get("HTTP_X_ORIGINAL_CONTENT_TYPE"))
            if got.signature is None or not got.message:
                raise XRoadFault("missing_signature", "the request carries no signature")
            msg_parts, ocsp = list(got.message), list(got.ocsp)
            signature = MessageSignature(got.signature, got.hash_chain_result, got.hash_chain)
            x_request_id = environ.get("HTTP_X_ROAD_REQUEST_ID") or str(uuid.uuid4())
            call: ServedCall
            if msg_parts[0].mime == MIME_REST_REQUEST:
                call = RestServed(p, msg_parts, x_request_id)
            else:
                call = SoapServed(p, msg_parts, x_request_id, environ.get("HTTP_X_ORIGINAL_SOAPACTION"), got.soap)
            return server_exchange(p, call, signature, cert_der, ocsp, at, note)

    def _backend(self, local: ServiceInfo, method: str, url: str, headers: dict[str, str] | list[tuple[str, str]],
                 content: bytes | None) -> HttpResponse:
        """One backend call of this gateway (see :func:`gateway.proxy._server_calls.call_backend`)."""
        return call_backend(self.parts.backends, local, method, url, headers, content)
