"""One HTTP/1.1 client connection for :mod:`gateway.net._http_pool`: ``http.client`` plus three changes.

* the answer's status line and header fields are read here (:class:`Response`), not by
  the ``email`` package: that costs ~55 us per answer and ~210 us for ``multipart/*``
  answers (every transport message), whose fresh boundary makes ``email`` compile a
  regular expression each time; ``http.client`` still reads the body (length, chunked,
  until close) from the framing attributes set here, derived as it derives them;
* the request head and a small body leave in one write (:meth:`Connection.send_request`);
* TLS is wrapped in :meth:`Connection.connect` and the peer's certificate kept, so the
  pool can check it before the first request byte; ``http.client`` never reconnects on
  its own (``auto_open`` off), which would skip that check.

Also the error leaves and the response types callers see.
"""

from __future__ import annotations

import http.client
import re
import select
import ssl
import typing
from dataclasses import dataclass

from gateway.errors import GatewayError

MAX_RESPONSE = 64 * 1024 * 1024
_CORK_LIMIT = 256 * 1024  # bodies up to this size leave in one write with the request head
_MAX_LINE = 64 * 1024  # as http.client
_MAX_FIELDS = 100
_FRAMING = frozenset({"content-length", "transfer-encoding"})


class HttpError(GatewayError):
    """An outgoing HTTP request failed; the message names the address, never the payload."""

    code = "gateway.http.error"


class HttpConnectError(HttpError):
    """No connection (refused, unreachable, TLS handshake failed)."""

    code = "gateway.http.connect_failed"


class HttpTimeout(HttpError):
    """Connecting, waiting for a pooled connection or reading the answer took too long."""

    code = "gateway.http.timeout"


class HttpProtocolError(HttpError):
    """The connection broke or the answer was not well-formed HTTP/1.1."""

    code = "gateway.http.protocol_error"


class ResponseTooLarge(HttpError):
    """The answer is larger than the pool's ``max_response``; it was not read."""

    code = "gateway.http.response_too_large"


class Headers(typing.Mapping[str, str]):
    """Response headers: case-insensitive, order and repeated fields kept.

    ``get``/``[]`` join repeated fields with ``", "`` (as httpx does); :meth:`get_list`
    and :meth:`multi_items` give them one by one.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, items: typing.Iterable[tuple[str, str]] = ()) -> None:
        self._items = list(items)
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._items:
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._lookup()[name.lower()])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> typing.Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def get_all(self, name: str, failobj: typing.Any = None) -> typing.Any:
        """As :meth:`email.message.Message.get_all` (``http.client``'s ``getheader`` calls it)."""
        return self.get_list(name) or failobj

    def get_list(self, name: str) -> list[str]:
        return list(self._lookup().get(name.lower(), ()))

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    headers: Headers
    content: bytes
    peer_cert_der: bytes = b""  # the TLS peer's certificate (empty over plain HTTP)


class Response(http.client.HTTPResponse):
    """``http.client``'s response with its own reading of the status line and header fields.

    ``http.client`` hands the header block to the ``email`` package, which costs ~55 us
    per answer and, for a ``multipart/*`` answer, compiles a regular expression for its
    boundary: ~210 us, because every transport message has a fresh boundary and misses
    ``re``'s cache. This reads the fields straight into :class:`Headers` (RFC 9112:
    no whitespace before the colon, bounded lines and field count) and sets the same
    framing attributes ``http.client`` derives, so its body reading (length, chunked,
    until close) is used unchanged.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._status_line()
            fields = read_fields(self.fp)
            if status == 100 or 102 <= status < 200:
                continue  # interim answers (100 Continue, 103 Early Hints): the final one follows
            break
        headers = Headers(fields)
        self.version, self.status, self.reason = version, status, reason
        self.headers = self.msg = headers  # Headers, not email: read by this module only
        encoding = headers.get("transfer-encoding")
        self.chunked = encoding is not None and encoding.strip().lower() == "chunked"
        self.chunk_left = None
        self.length = None
        lengths = set(headers.get_list("content-length"))
        if lengths and not self.chunked:
            if len(lengths) > 1:
                raise http.client.HTTPException("conflicting Content-Length fields")
            value = lengths.pop().strip()
            if not value.isdigit():
                raise http.client.HTTPException(f"bad Content-Length {value[:20]!r}")
            self.length = int(value)
        if status in (204, 304) or status < 200 or self._method == "HEAD":
            self.length = 0
        connection = (headers.get("connection") or "").lower()
        if version == 11:
            close = "close" in connection
        else:  # HTTP/1.0 keeps the connection only when asked to
            close = "keep-alive" not in connection and "keep-alive" not in headers
        self.will_close = close or (not self.chunked and self.length is None)

    def _status_line(self) -> tuple[int, int, str]:
        line = self.fp.readline(_MAX_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("the server closed the connection without an answer")
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("status line")
        parts = line.decode("iso-8859-1").rstrip("\r\n").split(" ", 2)
        code = parts[1] if len(parts) > 1 else ""
        if parts[0] not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit() or code < "100":
            raise http.client.BadStatusLine(line.decode("iso-8859-1")[:80])
        return (11 if parts[0] == "HTTP/1.1" else 10), int(code), parts[2] if len(parts) > 2 else ""


def read_fields(fp: typing.BinaryIO) -> list[tuple[str, str]]:
    """Header fields up to the empty line; obsolete line folding joined with a space."""
    fields: list[tuple[str, str]] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n"):
            return fields
        if not line:
            raise http.client.IncompleteRead(b"", None)
        if len(fields) >= _MAX_FIELDS:
            raise http.client.HTTPException(f"more than {_MAX_FIELDS} header fields")
        text = line.decode("iso-8859-1")
        if text[0] in " \t":
            if not fields:
                raise http.client.HTTPException("a header block starting with a continuation line")
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {text.strip()}")
            continue
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise http.client.HTTPException(f"malformed header field {text[:40]!r}")
        fields.append((name, value.strip()))


_LEGAL_NAME = re.compile(r"[^:\s][^:\r\n]*", re.ASCII)  # \s as in the bytes pattern of http.client
_ILLEGAL_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")


def header_block(fields: typing.Iterable[tuple[str, str]]) -> bytes:
    """The request's header lines as one piece, checked as ``http.client``'s ``putheader`` checks them.

    ``putheader`` per field cost ~3 us (two encodings, two regular expressions, an
    output call); a transport request has six or so. Names must be ASCII and
    ``field-name``-like, values Latin-1 without a bare CR or LF (no header injection);
    the same ``ValueError`` otherwise, before anything is sent.
    """
    lines = []
    for name, value in fields:
        name.encode("ascii")  # UnicodeEncodeError, as putheader
        if not _LEGAL_NAME.fullmatch(name):
            raise ValueError(f"Invalid header name {name.encode('ascii')!r}")
        if _ILLEGAL_VALUE.search(value):
            raise ValueError(f"Invalid header value {value.encode('latin-1')!r}")
        lines.append(f"{name}: {value}")
    return "\r\n".join(lines).encode("latin-1")


class Connection(http.client.HTTPConnection):
    """``http.client`` framing over our socket; TLS wrapped in :meth:`connect`.

    ``send`` can be corked so the request head and a small body leave in one write
    (one TLS record, one syscall). ``auto_open`` is off: ``http.client`` must never
    reconnect on its own, which would skip the peer check.
    """

    response_class = Response

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(host, port, timeout=timeout)
        self.auto_open = 0
        self._tls = tls
        self._cork: list[bytes] | None = None
        self.peer_der = b""
        self.generation = 0
        self.idle_since = 0.0

    def connect(self) -> None:
        super().connect()  # TCP with TCP_NODELAY
        if self._tls is not None:
            self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host)
            self.peer_der = self.sock.getpeercert(True) or b""

    def send(self, data: typing.Any) -> None:
        if self._cork is not None:
            self._cork.append(bytes(data))
        else:
            super().send(data)

    def send_request(self, method: str, target: str, headers: typing.Iterable[tuple[str, str]],
                     body: bytes | None) -> None:
        self._cork = []
        try:
            fields = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
            names = {n.lower() for n, _ in fields}
            self.putrequest(method, target, skip_host="host" in names,
                            skip_accept_encoding="accept-encoding" in names)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                fields.append(("Content-Length", str(len(body or b""))))
            if fields:
                self._output(header_block(fields))  # type: ignore[attr-defined]  # putheader's own line buffer
            self.endheaders()
            head = b"".join(self._cork)
        finally:
            self._cork = None
        assert self.sock is not None
        if body and len(body) <= _CORK_LIMIT:
            self.sock.sendall(head + body)
        else:
            self.sock.sendall(head)
            if body:
                self.sock.sendall(body)

    def peer_closed(self) -> bool:
        """Zero-timeout check of an idle connection: readable means closed (or garbage)."""
        sock = self.sock
        if sock is None:
            return True
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        try:
            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(sock, select.POLLIN | select.POLLPRI)
                return bool(poller.poll(0))
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable)
        except (OSError, ValueError):
            return True
