"""The WSGI side of the edge server: the request body the app reads, the answer it writes.

The event loop (:mod:`trust.infra._edgehttp`) owns the socket; the app runs on a thread
of a bounded pool, because it blocks (signing, SQLite, backend calls). These two
objects are the only places where the two meet:

* :class:`BodyStream` is ``wsgi.input``. The loop feeds it bytes as they arrive and
  stops reading the socket while more than ``high_water`` bytes wait unread
  (backpressure: a fast client cannot fill memory faster than the app reads). A
  thread reading an empty stream waits at most ``timeout`` seconds for the next bytes
  (a client dribbling its body holds a pool thread no longer than that). Past the
  size limit the stream raises :class:`BodyTooLarge` instead of returning bytes, so an
  app that never checks sizes still cannot be fed more than the limit.
* :func:`environ_for` makes the environ from the parsed head (PEP 3333: ``PATH_INFO``
  percent-decoded as latin-1, ``REQUEST_URI`` the target as sent, so an absolute URI of
  an HTTP-proxy client stays visible); :func:`response_head` the answer's head.
* :func:`run_app` calls the app on the pool thread and hands the answer to the loop in
  as few ``call_soon_threadsafe`` calls as possible: one for the usual answer that is a
  list of ``bytes`` with a ``Content-Length``; a streamed answer goes chunk by chunk,
  each waiting while the transport's buffer is full.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator
from urllib.parse import unquote_to_bytes

import httptools

if TYPE_CHECKING:
    from ._edgehttp import Connection

WsgiApp = Callable[..., Iterable[bytes]]


class BodyTooLarge(OSError):
    """The request body goes beyond the server's limit; nothing past it was read."""


class BodyTimeout(OSError):
    """The client sent no body bytes for the read timeout."""


class BodyStream:
    """``wsgi.input``: bytes fed by the loop, read by one app thread."""

    def __init__(self, conn: Connection, high_water: int, timeout: float) -> None:
        self._conn = conn
        self._cond = threading.Condition(threading.Lock())
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._high = high_water
        self._timeout = timeout
        self.done = False  # the whole body has arrived
        self.error: OSError | None = None
        self.received = 0
        self.consumed = 0
        self.paused = False  # the loop stopped reading the socket for this body

    # -- the loop's side ------------------------------------------------------------
    def feed(self, data: bytes) -> bool:
        """Append ``data``; True when the loop should stop reading until the app catches up."""
        with self._cond:
            self._chunks.append(data)
            self._buffered += len(data)
            self.received += len(data)
            self._cond.notify()
            return self._buffered > self._high

    def finish(self, error: OSError | None = None) -> None:
        with self._cond:
            if error is not None and self.error is None:
                self.error = error
            self.done = True
            self._cond.notify()

    @property
    def buffered(self) -> int:
        return self._buffered

    # -- the app's side -------------------------------------------------------------
    def _wait(self) -> None:
        """Wait (holding the condition) until bytes, the end or an error are there."""
        while not self._chunks and not self.done:
            if not self._cond.wait(self._timeout):
                self.error = self.error or BodyTimeout(f"no request body bytes for {self._timeout:g} s")
                self.done = True
        if self.error is not None and not self._chunks:
            raise self.error

    def _take(self, size: int) -> bytes:
        first = self._chunks.popleft()
        if len(first) > size:
            self._chunks.appendleft(first[size:])
            first = first[:size]
        self._buffered -= len(first)
        self.consumed += len(first)
        return first

    def _after_take(self) -> None:
        if self.paused and self._buffered <= self._high // 2:
            self.paused = False
            self._conn.resume_from_thread()

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative), fewer only at the end of the body."""
        out: list[bytes] = []
        want = -1 if size is None or size < 0 else size
        with self._cond:
            while want != 0:
                self._wait()  # an error raises even after some bytes: a short read would mean "the end"
                if not self._chunks:
                    break
                piece = self._take(len(self._chunks[0]) if want < 0 else want)
                out.append(piece)
                if want > 0:
                    want -= len(piece)
                self._after_take()
        return b"".join(out)

    def readline(self, size: int | None = -1) -> bytes:
        out: list[bytes] = []
        limit = -1 if size is None or size < 0 else size
        with self._cond:
            while limit != 0:
                self._wait()
                if not self._chunks:
                    break
                head = self._chunks[0]
                end = head.find(b"\n") + 1 or len(head)
                if limit > 0:
                    end = min(end, limit)
                    limit -= end
                piece = self._take(end)
                out.append(piece)
                self._after_take()
                if piece.endswith(b"\n"):
                    break
        return b"".join(out)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


def run_app(app: WsgiApp, environ: dict[str, Any], conn: Connection) -> None:
    """Call ``app`` on this (pool) thread and send its answer through ``conn``'s loop."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and conn.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, list(headers)]
        return lambda data: conn.write_from_thread(data)

    try:
        result = app(environ, start_response)
    except BodyTooLarge:
        conn.answer_from_thread("413 Content Too Large", b"request body too large\n")
        return
    except Exception:  # noqa: BLE001 - a broken app must not take the connection's loop down
        conn.log_app_error()
        conn.answer_from_thread("500 Internal Server Error", b"internal server error\n")
        return
    try:
        if isinstance(result, (list, tuple)) and started:
            body = b"".join(result)
            conn.respond_from_thread(started[0], started[1], body)
            return
        chunks = iter(result)
        first = b""
        for first in chunks:
            if first:
                break
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        conn.stream_from_thread(started[0], started[1], first, chunks)
    except Exception:  # noqa: BLE001 - as above
        conn.log_app_error()
        if conn.head_sent:
            conn.abort_from_thread()
        else:
            conn.answer_from_thread("500 Internal Server Error", b"internal server error\n")
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()




def environ_for(base: dict[str, Any], method: str, version: str, url: bytes,
                headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The WSGI environ of one request: ``base`` (the connection's part) plus its head."""
    parsed = httptools.parse_url(url)
    environ = dict(base)
    environ["REQUEST_METHOD"] = method
    environ["SERVER_PROTOCOL"] = f"HTTP/{version}"
    environ["REQUEST_URI"] = url.decode("latin-1")
    environ["PATH_INFO"] = unquote_to_bytes(parsed.path or b"/").decode("latin-1")
    environ["QUERY_STRING"] = (parsed.query or b"").decode("latin-1")
    for name, value in headers:
        key = _environ_key(name)
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]}, {text}" if key in environ and key.startswith("HTTP_") else text
    return environ


@functools.lru_cache(maxsize=512)
def _environ_key(name: bytes) -> str:
    """``X-Road-Client`` -> ``HTTP_X_ROAD_CLIENT`` (a few dozen names repeat on every request)."""
    key = name.decode("latin-1").upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def date_line(now: int) -> bytes:
    """The ``Date`` header line of an answer at ``now`` (seconds since the epoch)."""
    return f"Date: {formatdate(now, usegmt=True)}\r\n".encode("latin-1")


def response_head(status: str, headers: list[tuple[str, str]], keep: bool, http11: bool, length: int | None,
                  server_header: bytes, date: bytes) -> tuple[bytes, bool]:
    """The head of an answer (chunked when no length is known) and whether the connection stays open."""
    lines = [f"HTTP/1.1 {status}\r\n".encode("latin-1")]
    has_date = False
    for name, value in headers:
        low = name.lower()
        if low == "connection":
            keep = keep and value.strip().lower() != "close"
            continue
        if low in ("transfer-encoding", "keep-alive"):
            continue
        has_date = has_date or low == "date"
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    if not has_date:
        lines.append(date)
    lines.append(server_header)
    if length is None:
        if http11:
            lines.append(b"Transfer-Encoding: chunked\r\n")
        else:
            keep = False
    lines.append(b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n")
    return b"".join(lines), keep


def declared_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length" and value.strip().isdigit():
            return int(value)
    return None
