"""One HTTP/1.1 connection of the edge server: parse, guard the deadlines, hand requests to the app.

An :class:`asyncio.Protocol` on the server's event loop. httptools (the C parser
of Node.js, llhttp) calls back as bytes arrive, so every limit applies *while*
the request comes in, never after it was read into memory:

* the request head must be complete within ``header_timeout`` of its first byte (or
  of the connection) and stay under ``max_header_bytes`` (431 otherwise); a kept-alive
  connection with no request for ``idle_timeout`` is closed;
* a ``Content-Length`` over ``max_body`` is not read at all: the app is still called,
  with a ``wsgi.input`` that raises :class:`~trust.infra._edgewsgi.BodyTooLarge`, so it
  answers with its own error (an X-Road fault, a 413 of the trust services) and the
  connection is then closed without reading the body (after a short linger, so that
  the client can read the answer before the reset). A chunked body stops at the limit
  the same way;
* a body is buffered on the loop up to ``body_buffer`` bytes before the app is called,
  so a small request never holds a pool thread while its client is slow; a larger one
  is streamed to the app, and the loop stops reading while the app lags behind
  (:class:`~trust.infra._edgewsgi.BodyStream`).

Pipelined requests are queued and answered in order; reading stops while one waits.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
from collections import deque
from typing import TYPE_CHECKING, Any, Iterator

import httptools

from ._edgewsgi import BodyStream, BodyTooLarge, declared_length, environ_for, response_head, run_app

if TYPE_CHECKING:
    from ._edgeserver import ServerCore

log = logging.getLogger("sild.edge")

_REASONS = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large",
            503: "Service Unavailable"}


class _Request:
    __slots__ = ("environ", "body", "keep_alive", "head", "dispatched", "oversize")

    def __init__(self, environ: dict[str, Any], body: BodyStream, keep_alive: bool, head: bool) -> None:
        self.environ = environ
        self.body = body
        self.keep_alive = keep_alive
        self.head = head
        self.dispatched = False
        self.oversize = False


class Connection(asyncio.Protocol):
    """One client connection (after its TLS handshake, if any)."""

    def __init__(self, core: ServerCore, release: Any) -> None:
        self.core = core
        self.limits = core.limits
        self._release = release
        self.transport: Any = None
        self._parser = httptools.HttpRequestParser(self)
        self._pending: deque[_Request] = deque()
        self._parsing: _Request | None = None
        self._in_head = False
        self._head_bytes = self._head_raw = 0
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self.deadline = 0.0  # loop time at which ``phase`` expires; 0: none (checked by the server's sweep)
        self._phase = ""
        self._discarding = False
        self._reading = True
        self.closed = False
        self._closing = False  # close() was called; connection_lost follows on a later turn
        self.head_sent = False
        self._writable = core.new_event()

    # -- connection lifecycle ---------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        base = dict(self.core.base_environ)
        base["REMOTE_ADDR"], base["REMOTE_PORT"] = str(peer[0]), str(peer[1])
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            base["HTTPS"] = "on"
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                base["SSL_CLIENT_CERT"] = ssl.DER_cert_to_PEM_cert(der)
        self._base = base
        self.core.connections.add(self)
        self._arm(self.limits.header_timeout, "head")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self._writable.set()  # a thread waiting to write sees the close
        for req in self._pending:
            if not req.body.done:
                req.body.finish(ConnectionResetError("the client closed the connection"))
        self.core.connections.discard(self)
        self._release()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    @property
    def idle(self) -> bool:
        return not self._pending and not self._in_head

    def close(self) -> None:
        self._closing = True
        if not self.closed and self.transport is not None:
            self.transport.close()

    # -- timers -----------------------------------------------------------------------
    def _arm(self, seconds: float, phase: str) -> None:
        # a number, not a loop timer: the server sweeps its connections a few times a
        # second (EdgeServer._sweep), so a request costs no timer creation and cancelling
        self.deadline = self.core.loop.time() + seconds
        self._phase = phase

    def _cancel_timer(self) -> None:
        self.deadline = 0.0

    def expire(self) -> None:
        """The deadline passed (called by the server's sweep)."""
        phase, self.deadline = self._phase, 0.0
        if phase == "linger" or phase == "idle" or (phase == "head" and not self._in_head):
            self.close()
        else:  # a request head or a buffered body that did not arrive in time
            self._refuse(408, f"request {phase} not received in time")

    def _refuse(self, status: int, text: str) -> None:
        """Answer ``status`` on the loop (no app involved) and close."""
        body = (text + "\n").encode("latin-1", "replace")
        if not self._pending or not self._pending[0].dispatched:  # else the app is answering: just close
            self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                                 b"Connection: close\r\n\r\n%s" % (status, _REASONS[status].encode(), len(body), body))
        self._in_head = False
        self.close()

    # -- reading ----------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._discarding or self._closing:
            return
        if not self._in_head and self.deadline and not self._pending:
            self._cancel_timer()  # the first byte of a request ends the idle wait
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
            return
        except httptools.HttpParserError as exc:
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, "request head too large")
            else:
                self._refuse(400, f"malformed request: {exc}")
            return
        if self._in_head:  # a head spread over reads: count them (httptools keeps a partial header)
            self._head_raw += len(data)
            if self._head_raw > self.limits.max_header_bytes:
                self._refuse(431, "request head too large")

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = self._head_raw = 0
        self._url = b""
        self._headers = []
        if not self._pending:
            self._arm(self.limits.header_timeout, "head")

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._count_head(len(name) + len(value) + 4)
        if len(self._headers) > self.limits.max_headers:
            raise httptools.HttpParserError("too many header fields")

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            raise httptools.HttpParserError("request head too large")

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        environ = environ_for(self._base, parser.get_method().decode("latin-1"), parser.get_http_version(),
                              self._url, self._headers)
        body = BodyStream(self, self.limits.body_buffer, self.limits.body_timeout)
        environ["wsgi.input"] = body
        req = _Request(environ, body, parser.should_keep_alive(), environ["REQUEST_METHOD"] == "HEAD")
        declared = environ.get("CONTENT_LENGTH", "")
        if declared and not declared.isdigit():
            self._refuse(400, "malformed Content-Length")
            return
        if declared and int(declared) > self.limits.max_body:
            req.oversize = True
            body.finish(BodyTooLarge(f"request body over {self.limits.max_body} bytes"))
            self._discarding = True  # nothing of it is read; the app answers, then the connection closes
            self._stop_reading()
        elif declared == "0" or (not declared and "HTTP_TRANSFER_ENCODING" not in environ):
            body.finish()
        elif environ.get("HTTP_EXPECT", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._pending.append(req)
        self._parsing = req
        if len(self._pending) > 1:
            self._stop_reading()  # pipelined: the next request waits in the kernel
        elif not body.done:
            self._arm(self.limits.body_timeout, "body")
        self._maybe_dispatch()

    def on_body(self, chunk: bytes) -> None:
        req = self._parsing
        if req is None or req.body.done:
            return
        if req.body.received + len(chunk) > self.limits.max_body:
            req.body.finish(BodyTooLarge(f"request body over {self.limits.max_body} bytes"))
            self._discarding = True
            self._stop_reading()
            self._maybe_dispatch()
            return
        if req.body.feed(chunk):
            req.body.paused = True
            self._stop_reading()
        if not req.dispatched and self._pending and self._pending[0] is req:
            self._arm(self.limits.body_timeout, "body")
        self._maybe_dispatch()

    def on_message_complete(self) -> None:
        req = self._parsing
        if req is not None and not req.body.done:
            req.body.finish()
        self._maybe_dispatch()

    def _stop_reading(self) -> None:
        if self._reading and not self.closed:
            self._reading = False
            self.transport.pause_reading()

    def _start_reading(self) -> None:
        if not self._reading and not self.closed:
            self._reading = True
            self.transport.resume_reading()

    def _on_loop(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` on the loop (from the app's thread); a stopped server has no loop to run it."""
        try:
            self.core.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed after the shutdown timeout; the connection is gone
            pass

    def resume_from_thread(self) -> None:
        self._on_loop(self._resume_body)

    def _resume_body(self) -> None:
        if not self._discarding and len(self._pending) <= 1:
            self._start_reading()

    # -- handing requests to the app ----------------------------------------------------
    def _maybe_dispatch(self) -> None:
        if not self._pending or self.closed or self._closing:
            return
        req = self._pending[0]
        if req.dispatched or not (req.body.done or req.body.buffered >= self.limits.body_buffer):
            return
        req.dispatched = True
        self.head_sent = False
        self._cancel_timer()
        self.core.submit(run_app, self.core.app, req.environ, self)

    def finished(self, keep_alive: bool) -> None:
        """On the loop, after the app's answer went out."""
        req = self._pending.popleft() if self._pending else None
        if self.closed:
            return
        if req is None or not keep_alive or not req.keep_alive or not req.body.done or req.oversize \
                or req.body.error is not None or self.core.stopping:
            self._close_after_answer(req)
            return
        if self._pending:
            if not self._pending[0].body.done:
                self._arm(self.limits.body_timeout, "body")
            self._maybe_dispatch()
        else:
            self._arm(self.limits.idle_timeout, "idle")
        self._start_reading()

    def _close_after_answer(self, req: _Request | None) -> None:
        if req is not None and not req.body.done or self._discarding:
            # unread body bytes are on their way: closing now would reset the connection
            # and could destroy the answer before the client reads it. Wait briefly,
            # reading nothing (the client's sending stalls on the full window), then close.
            self._discarding = True
            self._stop_reading()
            self._arm(self.limits.linger, "linger")
            if self.transport.can_write_eof():
                self.transport.write_eof()
            return
        self.close()

    # -- the answer, from the app's thread -----------------------------------------------
    def _head(self, status: str, headers: list[tuple[str, str]], req: _Request,
              length: int | None) -> tuple[bytes, bool]:
        """The response head and whether the connection stays open after it."""
        keep = req.keep_alive and req.body.done and not req.oversize and not self.core.stopping
        return response_head(status, headers, keep, req.environ["SERVER_PROTOCOL"] == "HTTP/1.1", length,
                             self.core.server_header, self.core.date())

    def respond_from_thread(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        req = self._pending[0]
        declared = declared_length(headers)
        if declared is None:
            headers = headers + [("Content-Length", str(len(body)))]
        head, keep = self._head(status, headers, req, len(body))
        if declared is not None and declared != len(body):
            keep = False
        self.head_sent = True
        self._on_loop(self._send, head, b"" if req.head else body, keep)

    def _send(self, head: bytes, body: bytes, keep: bool) -> None:
        if self.closed:
            return
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        self.finished(keep)

    def answer_from_thread(self, status: str, text: bytes) -> None:
        if self._pending and not self._pending[0].body.done:
            self._pending[0].body.finish(BodyTooLarge("answered before the body was read"))
        self.respond_from_thread(status, [("Content-Type", "text/plain"), ("Connection", "close")], text)

    def stream_from_thread(self, status: str, headers: list[tuple[str, str]], first: bytes,
                           rest: Iterator[bytes]) -> None:
        req = self._pending[0]
        declared = declared_length(headers)
        head, keep = self._head(status, headers, req, declared)
        chunked = declared is None and req.environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        self.head_sent = True
        sent = 0
        self._write_threadsafe(head)
        chunk: bytes | None = first
        while True:
            if chunk and not req.head:
                sent += len(chunk)
                self._write_threadsafe(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if self.closed:
                return
            chunk = next(rest, None)
            if chunk is None:
                break
        if chunked and not req.head:
            self._write_threadsafe(b"0\r\n\r\n")
        if declared is not None and sent != declared and not req.head:
            keep = False
        self._on_loop(self.finished, keep)

    def write_from_thread(self, data: bytes) -> None:
        """The legacy ``write`` callable of ``start_response``: not used by sild's apps."""
        raise RuntimeError("the edge server does not support the WSGI write() callable")

    def _write_threadsafe(self, data: bytes) -> None:
        if not self._writable.wait(self.limits.send_timeout):
            self.abort_from_thread()
            raise TimeoutError("the client did not read the answer in time")
        self._on_loop(self._write, data)

    def _write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)

    def abort_from_thread(self) -> None:
        self._on_loop(self._abort)

    def _abort(self) -> None:
        if not self.closed:
            self.transport.abort()

    def log_app_error(self) -> None:
        log.error("the WSGI app failed on %s", self._pending[0].environ.get("REQUEST_URI") if self._pending else "?",
                  exc_info=sys.exc_info())
