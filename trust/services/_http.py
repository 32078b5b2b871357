"""HTTP edge of the trust services: a plain WSGI app (no web framework in ``trust``).

Routes:

* ``POST /ocsp`` with ``Content-Type: application/ocsp-request`` (RFC 6960 A.1);
* ``GET /ocsp/<base64 DER request>`` (RFC 6960 A.1, URL-encoded base64);
* ``POST /tsa`` with ``Content-Type: application/timestamp-query`` (RFC 3161 3.4),
  answered ``application/timestamp-reply``;
* ``GET /`` a one-line health text.

Bodies are bounded before they are read. Anything wrong with a request gets a 4xx
with a one-line ``text/plain`` reason (wrong method 405, wrong content type 415,
too large 413, garbage / unknown hash algorithm 400); a request about a CA this
responder does not serve gets the protocol's own ``unauthorized`` answer. An
unexpected failure is logged and becomes a 500 without details, and the server
keeps serving. :class:`TrustServer` runs the app on the event-driven edge server
(:class:`trust.infra.EdgeServer`): gateways all over a federation reach these ports,
so a silent or slow client costs a socket, not one of the few threads.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from trust.pki import OCSP_REQUEST, OCSP_RESPONSE
from ._ocsp_responder import OcspResponder
from trust.evidence import TIMESTAMP_QUERY, TIMESTAMP_REPLY
from ._tsa import TimestampAuthority
from trust.infra import EdgeLimits, EdgeServer, utc_now

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
_MAX_GET_PATH = 8 * 1024

StartResponse = Callable[..., Any]


class _HttpError(Exception):
    def __init__(self, status: str, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


class TrustHttpApp:
    """WSGI callable serving an OCSP responder and/or a TSA."""

    def __init__(
        self,
        ocsp: OcspResponder | None = None,
        tsa: TimestampAuthority | None = None,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.ocsp = ocsp
        self.tsa = tsa
        self.clock = clock
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, content_type, body = self._route(environ)
            headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Cache-Control", "no-store")]
        except _HttpError as exc:
            status = exc.status
            body = (exc.message + "\n").encode("utf-8")
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                       *exc.headers]
        except Exception:  # noqa: BLE001 - the edge must never crash; details go to the log only
            log.exception("trust services: unexpected failure")
            status = "500 Internal Server Error"
            body = b"internal error\n"
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    # -- routing -----------------------------------------------------------
    def _route(self, environ: dict[str, Any]) -> tuple[str, str, bytes]:
        path = str(environ.get("PATH_INFO", "") or "/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if path == "/":
            if method not in ("GET", "HEAD"):
                raise _HttpError("405 Method Not Allowed", "use GET", [("Allow", "GET")])
            services = [n for n, s in (("ocsp", self.ocsp), ("tsa", self.tsa)) if s is not None]
            return "200 OK", "text/plain; charset=utf-8", f"sild trust services: {', '.join(services)}\n".encode()
        if path in ("/ocsp", "/ocsp/") or path.startswith("/ocsp/"):
            if self.ocsp is None:
                raise _HttpError("404 Not Found", "no OCSP responder here")
            if method == "POST" and path in ("/ocsp", "/ocsp/"):
                return self._ocsp(self._body(environ, OCSP_REQUEST))
            if method == "GET" and path.startswith("/ocsp/") and len(path) > len("/ocsp/"):
                return self._ocsp(self._decode_get(path[len("/ocsp/"):]))
            raise _HttpError("405 Method Not Allowed", "OCSP takes POST /ocsp or GET /ocsp/<base64 request>",
                             [("Allow", "GET, POST")])
        if path in ("/tsa", "/tsa/"):
            if self.tsa is None:
                raise _HttpError("404 Not Found", "no timestamping authority here")
            if method != "POST":
                raise _HttpError("405 Method Not Allowed", "the TSA takes POST /tsa", [("Allow", "POST")])
            return self._tsa(self._body(environ, TIMESTAMP_QUERY))
        raise _HttpError("404 Not Found", f"no such resource: {path[:100]}")

    def _body(self, environ: dict[str, Any], content_type: str) -> bytes:
        got = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        if got != content_type:
            raise _HttpError("415 Unsupported Media Type", f"expected Content-Type {content_type}, got {got or 'none'}")
        length_text = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length_text:
            try:
                length = int(length_text)
            except ValueError:
                raise _HttpError("400 Bad Request", "invalid Content-Length") from None
            if length < 0:
                raise _HttpError("400 Bad Request", "invalid Content-Length")
            if length > self.max_body:
                raise _HttpError("413 Content Too Large", f"request body larger than {self.max_body} bytes")
            data = bytes(stream.read(length))
        else:  # chunked: read at most one byte more than allowed
            data = bytes(stream.read(self.max_body + 1))
            if len(data) > self.max_body:
                raise _HttpError("413 Content Too Large", f"request body larger than {self.max_body} bytes")
        if not data:
            raise _HttpError("400 Bad Request", "empty request body")
        return data

    @staticmethod
    def _decode_get(encoded: str) -> bytes:
        if len(encoded) > _MAX_GET_PATH:
            raise _HttpError("414 URI Too Long", "OCSP GET request too long")
        # servers differ in which escapes they undo in PATH_INFO (cheroot keeps %2F); base64
        # has no '%', so undoing all of them here is safe
        text = urllib.parse.unquote(encoded)
        text = text.replace("-", "+").replace("_", "/")  # accept the URL-safe alphabet too
        text += "=" * (-len(text) % 4)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _HttpError("400 Bad Request", "OCSP GET path is not base64") from None

    def _ocsp(self, request: bytes) -> tuple[str, str, bytes]:
        assert self.ocsp is not None
        result = self.ocsp.handle(request, self.clock())
        if result.status == "malformed_request":
            raise _HttpError("400 Bad Request", f"malformed OCSP request: {result.detail}")
        if result.status == "internal_error":
            raise _HttpError("503 Service Unavailable", "OCSP status temporarily unavailable",
                             [("Retry-After", "5")])
        return "200 OK", OCSP_RESPONSE, result.response

    def _tsa(self, request: bytes) -> tuple[str, str, bytes]:
        assert self.tsa is not None
        result = self.tsa.handle(request, self.clock())
        if result.failure is not None:
            raise _HttpError("400 Bad Request", f"timestamp request refused ({result.fail_info}): {result.failure}")
        return "200 OK", TIMESTAMP_REPLY, result.reply


class TrustServer(EdgeServer):
    """Runs a WSGI app on the edge server in a background thread; ``port`` 0 picks a free one.

    The server's body limit lies above the app's (``MAX_BODY_BYTES``), so that the app's
    own 413 answers; a body beyond the server's is never read.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], host: str = "127.0.0.1", port: int = 0,
                 *, threads: int = 4, limits: EdgeLimits | None = None) -> None:
        super().__init__(app, host, port, threads=threads, name="sild-trust", thread_name="sild-trust-http",
                         limits=limits or EdgeLimits(max_body=16 * MAX_BODY_BYTES))
