"""The OCSP-responses endpoint: peers fetch this gateway's OCSP responses here.

X-Road has no OCSP stapling between gateways: a consumer gateway that wants to check
the provider's auth certificate asks ``GET /?cert=<sha1 hex>&cert_hash=<sha256 hex>``
(X-Road's server reads only ``cert``; clients send both, NOTES.md section 7) and gets
``multipart/related`` of ``application/ocsp-response`` parts. X-Road serves this on
plain HTTP port 5577; sild serves it there too and also on the mutual-TLS port, so
that sild peers reuse their pooled connection and sandboxes need no extra port per
gateway.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

Lookup = Callable[[str], list[bytes]]


def ocsp_multipart(responses: list[bytes]) -> tuple[str, bytes]:
    boundary = "ocsp" + secrets.token_hex(12)
    out = bytearray()
    for der in responses:
        out += (f"--{boundary}\r\nContent-Type: application/ocsp-response\r\n"
                "Content-Transfer-Encoding: binary\r\n\r\n").encode()
        out += der + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f'multipart/related; type="application/ocsp-response"; boundary={boundary}', bytes(out)


class OcspResponsesApp:
    """WSGI app answering the OCSP-responses query from ``lookup(sha1_hex)``."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "GET":
            return _plain(start_response, "405 Method Not Allowed", b"GET only\n")
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        certs = [c.strip().lower() for c in qs.get("cert", []) if c.strip()]
        if not certs or any(len(c) != 40 or any(ch not in "0123456789abcdef" for ch in c) for c in certs):
            return _plain(start_response, "400 Bad Request", b"cert=<sha1 hex> is required\n")
        found: list[bytes] = []
        for cert in certs:
            responses = self._lookup(cert)
            if not responses:
                return _plain(start_response, "404 Not Found", b"no OCSP response for that certificate\n")
            found.extend(responses)
        ctype, body = ocsp_multipart(found)
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]


def _plain(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
