"""A lean pooled HTTP/1.1 client for the gateway's hot path, on the standard library.

Why not httpx: measured on the 2-core target machine, httpx costs ~420 us of client
CPU per kept-alive request, ``http.client`` ~130 us; at two outgoing requests per
exchange (consumer gateway -> provider gateway, provider gateway -> backend) that
difference is a large share of the ~2 ms per exchange the gateway may spend. So
``http.client`` does the HTTP framing and this module only adds what it lacks (and
reads the answer's header block itself, see :class:`_Response`):

* **pooling**: kept-alive connections per (scheme, host, port) of one pool (one pool
  per TLS setting), bounded in number, thread-safe, expired after ``keepalive_expiry``
  seconds idle. Before an idle connection is reused a zero-timeout readability check
  (as urllib3 does) finds connections the server has closed meanwhile, because a POST
  must never be retried blindly (only GET, HEAD and OPTIONS are sent once more when
  the server closed a reused connection just as the request went out). A connection whose response was not read to its end,
  or that will close (``Connection: close``, no framing), never goes back to the pool;
* **a check before the first byte**: ``on_connect(host, port, peer_der)`` runs right
  after the TLS handshake of every new connection; if it raises, the connection is
  closed before a request byte is written. :meth:`HttpPool.drop` forgets the idle
  connections to one address and keeps in-flight ones from returning (the address
  changed owner);
* **bounds**: connect timeout, per-request read timeout (per socket operation, as
  httpx's read timeout), and a maximum response size checked against
  ``Content-Length`` before reading and while reading chunked or close-delimited
  bodies, so a peer cannot make us buffer more than ``max_response`` bytes;
* **no environment**: no proxy variables, no ``SSL_CERT_FILE``; the caller's
  :class:`ssl.SSLContext` is the only trust (see :func:`backend_ssl_context`).

Errors are :class:`HttpError` leaves; callers map them to their own protocol codes.
"""

from __future__ import annotations

import functools
import http.client
import os
import select
import socket
import ssl
import threading
import time
import typing
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import GatewayError

MAX_RESPONSE = 64 * 1024 * 1024
_CORK_LIMIT = 256 * 1024  # bodies up to this size leave in one write with the request head
_READ_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024  # as http.client
_MAX_FIELDS = 100
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CLOSED_MEANWHILE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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


class _Response(http.client.HTTPResponse):
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
            fields = _read_fields(self.fp)
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


def _read_fields(fp: typing.BinaryIO) -> list[tuple[str, str]]:
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


class _Connection(http.client.HTTPConnection):
    """``http.client`` framing over our socket; TLS wrapped in :meth:`connect`.

    ``send`` can be corked so the request head and a small body leave in one write
    (one TLS record, one syscall). ``auto_open`` is off: ``http.client`` must never
    reconnect on its own, which would skip the peer check.
    """

    response_class = _Response

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
            for name, value in fields:
                self.putheader(name, value)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                self.putheader("Content-Length", str(len(body or b"")))
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


OnConnect = typing.Callable[[str, int, bytes], None]
_Key = tuple[str, str, int]


class HttpPool:
    """Kept-alive HTTP/1.1 (and HTTPS with ``ssl_context``) connections, shared by threads."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, max_connections: int = 64,
                 keepalive_expiry: float = 60.0, connect_timeout: float = 5.0,
                 max_response: int = MAX_RESPONSE, on_connect: OnConnect | None = None,
                 clock: typing.Callable[[], float] = time.monotonic) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._tls = ssl_context
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._connect_timeout = connect_timeout
        self._max_response = max_response
        self._on_connect = on_connect
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: dict[_Key, list[_Connection]] = {}
        self._generation: dict[_Key, int] = {}
        self._open = 0  # idle plus in use; bounded by max_connections
        self._closed = False
        self._last_sweep = clock()

    # -- the request -------------------------------------------------------------------
    def request(self, method: str, url: str, *,
                headers: typing.Mapping[str, str] | typing.Iterable[tuple[str, str]] = (),
                body: bytes | None = None, timeout: float = 60.0,
                connect_timeout: float | None = None) -> HttpResponse:
        """One request; the whole answer is read (at most ``max_response`` bytes)."""
        key, target = _split(url)
        if key[0] == "https" and self._tls is None:
            raise HttpError(f"no TLS configured for {_where(key)}")
        items = list(headers.items()) if isinstance(headers, typing.Mapping) else list(headers)
        ctimeout = self._connect_timeout if connect_timeout is None else connect_timeout
        retry = method in _SAFE_METHODS
        while True:
            conn = self._checkout(key, ctimeout)
            reused = conn is not None
            if conn is None:
                conn = self._connect(key, ctimeout)
            try:
                assert conn.sock is not None
                conn.sock.settimeout(timeout)
                conn.send_request(method, target, items, body)
                resp = conn.getresponse()
                content = self._read(resp, key)
            except BaseException as exc:
                self._discard(conn)
                if retry and reused and isinstance(exc, _CLOSED_MEANWHILE):
                    # the server closed the kept-alive connection as we sent: a safe method
                    # is sent once more on a new connection; a POST never is (its answer lost,
                    # it may have been processed)
                    retry = False
                    continue
                mapped = _translate(exc, key, "no answer from")
                if mapped is exc:
                    raise
                raise mapped from exc
            self._checkin(conn, key, reusable=conn.sock is not None and resp.isclosed())
            headers = typing.cast(Headers, resp.headers)
            return HttpResponse(resp.status, resp.reason, headers, content, conn.peer_der)

    def _read(self, resp: http.client.HTTPResponse, key: _Key) -> bytes:
        limit = self._max_response
        if resp.length is not None:
            if resp.length > limit:
                raise ResponseTooLarge(f"the answer of {_where(key)} is {resp.length} bytes, "
                                       f"more than the {limit} allowed")
            return resp.read()
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = resp.read(_READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"the answer of {_where(key)} is more than the {limit} bytes allowed")
            chunks.append(chunk)

    # -- connections -------------------------------------------------------------------
    def _connect(self, key: _Key, timeout: float) -> _Connection:
        """A new connection (its slot is already reserved), checked before any use."""
        scheme, host, port = key
        conn = _Connection(host, port, timeout, self._tls if scheme == "https" else None)
        with self._cond:  # taken before the check: a drop() meanwhile keeps it out of the pool
            conn.generation = self._generation.get(key, 0)
        try:
            conn.connect()
            if self._on_connect is not None:
                self._on_connect(host, port, conn.peer_der)
        except BaseException as exc:
            self._discard(conn)
            mapped = _translate(exc, key, "cannot connect to")
            if mapped is exc:
                raise
            raise mapped from exc
        return conn

    def _checkout(self, key: _Key, timeout: float) -> _Connection | None:
        """A live idle connection, or None with a slot reserved for a new one."""
        deadline = time.monotonic() + timeout  # real waiting, whatever clock ages idle connections
        while True:
            stale: list[_Connection] = []
            conn = None
            with self._cond:
                if self._closed:
                    raise HttpError("the HTTP pool is closed")
                idle = self._idle.get(key)
                now = self._clock()
                if idle:
                    conn = idle.pop()
                    if now - conn.idle_since > self._expiry:  # the rest is older still
                        stale, idle[:] = idle + [conn], []
                        conn = None
                if conn is None and not stale:
                    if self._open < self._max:
                        self._open += 1
                        return None
                    victim = self._oldest_idle()
                    if victim is not None:
                        stale = [victim]
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise HttpTimeout(f"no free connection for {_where(key)} "
                                              f"({self._max} in use)")
                        self._cond.wait(left)
                        continue
            for old in stale:
                self._discard(old)
            if conn is not None:
                if not conn.peer_closed():
                    return conn
                self._discard(conn)

    def _oldest_idle(self) -> _Connection | None:
        oldest: tuple[float, list[_Connection]] | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest[0]):
                oldest = (idle[0].idle_since, idle)
        return oldest[1].pop(0) if oldest is not None else None

    def _checkin(self, conn: _Connection, key: _Key, *, reusable: bool) -> None:
        expired: list[_Connection] = []
        with self._cond:
            keep = reusable and not self._closed and conn.generation == self._generation.get(key, 0)
            if keep:
                conn.idle_since = now = self._clock()
                self._idle.setdefault(key, []).append(conn)
                if now - self._last_sweep > self._expiry / 2:
                    self._last_sweep = now
                    for idle in self._idle.values():
                        while idle and now - idle[0].idle_since > self._expiry:
                            expired.append(idle.pop(0))
                self._cond.notify()
        if not keep:
            self._discard(conn)
        for old in expired:
            self._discard(old)

    def _discard(self, conn: _Connection) -> None:
        try:
            conn.close()
        finally:
            with self._cond:
                self._open -= 1
                self._cond.notify()

    def drop(self, scheme: str, host: str, port: int) -> None:
        """Close idle connections to an address; those in use are closed when they return."""
        key = (scheme, host.lower(), port)
        with self._cond:
            self._generation[key] = self._generation.get(key, 0) + 1
            idle = self._idle.pop(key, [])
        for conn in idle:
            self._discard(conn)

    def idle_count(self, scheme: str, host: str, port: int) -> int:
        with self._cond:
            return len(self._idle.get((scheme, host.lower(), port), ()))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in idle:
            self._discard(conn)


@functools.lru_cache(maxsize=1024)
def _split(url: str) -> tuple[_Key, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {url[:80]!r}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise HttpError(f"bad port in URL {url[:80]!r}") from None
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return (scheme, parts.hostname, port), target


def _where(key: _Key) -> str:
    host = f"[{key[1]}]" if ":" in key[1] else key[1]
    return f"{host}:{key[2]}"


def _translate(exc: BaseException, key: _Key, doing: str) -> BaseException:
    """Exceptions of ``socket``/``ssl``/``http.client`` as :class:`HttpError` leaves."""
    if isinstance(exc, HttpError) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, GatewayError):
        return exc  # the on_connect check's own verdict
    where = _where(key)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        what = "connecting to" if doing == "cannot connect to" else "waiting for the answer of"
        return HttpTimeout(f"timed out {what} {where}")
    if isinstance(exc, ssl.SSLError):
        return HttpConnectError(f"TLS with {where} failed: {exc.reason or exc}")
    if isinstance(exc, http.client.HTTPException):
        return HttpProtocolError(f"{doing} {where}: {type(exc).__name__} {exc}".rstrip())
    if isinstance(exc, OSError):
        cls = HttpConnectError if doing == "cannot connect to" else HttpProtocolError
        return cls(f"{doing} {where}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, ValueError):  # http.client refuses a header or target with control characters
        return HttpError(f"invalid request to {where}: {exc}")
    return exc


def backend_ssl_context(verify: bool, ca_pem: str | None = None) -> ssl.SSLContext:
    """TLS to a backend: its own CA bundle, the system's CAs, or (``verify=False``) none.

    The system CAs are read from OpenSSL's compiled-in locations, not from
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``: the environment must not widen the trust.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem:
        ctx.load_verify_locations(cadata=ca_pem)
    elif verify:
        paths = ssl.get_default_verify_paths()
        found = False
        if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile):
            ctx.load_verify_locations(cafile=paths.openssl_cafile)
            found = True
        if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
            ctx.load_verify_locations(capath=paths.openssl_capath)
            found = True
        if not found:
            raise HttpError("no system CA certificates to verify backends with")
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
