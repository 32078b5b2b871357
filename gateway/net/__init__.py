"""The gateway's network edges: servers, outgoing connections, the peer transport.

The event-driven servers of the IS and mutual-TLS ports (cheroot for the admin
port), the pooled and kept-alive HTTP connections to backends and peers, the transport between gateways (with its
multipart wire format) and the endpoint that serves a gateway's OCSP responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._http_pool import (
        HttpError, HttpPool, HttpResponse, HttpTimeout, MAX_RESPONSE, ResponseTooLarge, backend_ssl_context,
    )
    from ._ocsp_endpoint import OcspResponsesApp
    from ._peer_transport import (
        PeerCertificateRejected, PeerError, PeerNetworkError, PeerOcspCache, PeerResponse,
        PeerResponseTooLarge, PeerTransport, client_ssl_context, server_ssl_context,
    )
    from ._servers import EdgeServer, WsgiServer, bind_listening
    from ._wire import (
        MIME_REST_BODY, MIME_REST_REQUEST, MIME_REST_RESPONSE, Part, Received, decode_message,
        encode_message,
    )

__all__ = [
    "EdgeServer",
    "HttpError",
    "HttpPool",
    "HttpResponse",
    "HttpTimeout",
    "MAX_RESPONSE",
    "MIME_REST_BODY",
    "MIME_REST_REQUEST",
    "MIME_REST_RESPONSE",
    "OcspResponsesApp",
    "Part",
    "PeerCertificateRejected",
    "PeerError",
    "PeerNetworkError",
    "PeerOcspCache",
    "PeerResponse",
    "PeerResponseTooLarge",
    "PeerTransport",
    "Received",
    "ResponseTooLarge",
    "WsgiServer",
    "backend_ssl_context",
    "bind_listening",
    "client_ssl_context",
    "decode_message",
    "encode_message",
    "server_ssl_context",
]

__getattr__, __dir__ = attach(__name__, {
    "EdgeServer": "._servers",
    "HttpError": "._http_pool",
    "HttpPool": "._http_pool",
    "HttpResponse": "._http_pool",
    "HttpTimeout": "._http_pool",
    "MAX_RESPONSE": "._http_pool",
    "MIME_REST_BODY": "._wire",
    "MIME_REST_REQUEST": "._wire",
    "MIME_REST_RESPONSE": "._wire",
    "OcspResponsesApp": "._ocsp_endpoint",
    "Part": "._wire",
    "PeerCertificateRejected": "._peer_transport",
    "PeerError": "._peer_transport",
    "PeerNetworkError": "._peer_transport",
    "PeerOcspCache": "._peer_transport",
    "PeerResponse": "._peer_transport",
    "PeerResponseTooLarge": "._peer_transport",
    "PeerTransport": "._peer_transport",
    "Received": "._wire",
    "ResponseTooLarge": "._http_pool",
    "WsgiServer": "._servers",
    "backend_ssl_context": "._http_pool",
    "bind_listening": "._servers",
    "client_ssl_context": "._peer_transport",
    "decode_message": "._wire",
    "encode_message": "._wire",
    "server_ssl_context": "._peer_transport",
})
