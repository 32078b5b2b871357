"""A lean pooled HTTP/1.1 client for the gateway's hot path, on the standard library.

Why not httpx: measured on the 2-core target machine, httpx costs ~420-490 us of
client CPU per kept-alive mutual-TLS request, this pool ~125 us (``bench/http_client.py``);
at two outgoing requests per exchange (consumer gateway -> provider gateway, provider
gateway -> backend) that difference is a large share of the ~2 ms per exchange the
gateway may spend. So ``http.client`` does the HTTP framing (with the lean answer-head
reading of :mod:`gateway.net._http_conn`) and this module adds what it lacks:

* **pooling**: kept-alive connections per (scheme, host, port) of one pool (one pool
  per TLS setting), bounded in number, thread-safe, expired after ``keepalive_expiry``
  seconds idle. Before an idle connection is reused a zero-timeout readability check
  (as urllib3 does) finds connections the server has closed meanwhile, because a POST
  must never be retried blindly (only GET, HEAD and OPTIONS are sent once more when
  the server closed a reused connection just as the request went out). A connection
  whose answer was not read to its end, or that will close (``Connection: close``,
  no framing), never goes back to the pool;
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

import collections.abc
import functools
import http.client
import os
import socket
import ssl
import threading
import time
import typing
from urllib.parse import urlsplit

from gateway.errors import GatewayError
from trust.errors import ProtocolError
from ._http_conn import (
    MAX_RESPONSE, Connection, Headers, HttpConnectError, HttpError, HttpProtocolError, HttpResponse,
    HttpTimeout, ResponseTooLarge,
)

__all__ = [
    "MAX_RESPONSE", "Headers", "HttpConnectError", "HttpError", "HttpPool", "HttpProtocolError", "HttpResponse",
    "HttpTimeout", "ResponseTooLarge", "backend_ssl_context",
]

_READ_CHUNK = 64 * 1024
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CLOSED_MEANWHILE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


OnConnect = typing.Callable[[str, int, bytes], None]
_Key = tuple[str, str, int]


class HttpPool:
    """Kept-alive HTTP/1.1 (and HTTPS with ``ssl_context``) connections, shared by threads.

    ``ssl_context`` may be a function making it: it is then called once, at the first
    ``https`` request (loading the system's CAs costs ~13 ms and fails where there are
    none, which must not matter to a pool that only ever speaks plain HTTP).
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | typing.Callable[[], ssl.SSLContext] | None = None,
                 max_connections: int = 64,
                 keepalive_expiry: float = 60.0, connect_timeout: float = 5.0,
                 max_response: int = MAX_RESPONSE, on_connect: OnConnect | None = None,
                 clock: typing.Callable[[], float] = time.monotonic) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._tls: ssl.SSLContext | None = None
        self._make_tls: typing.Callable[[], ssl.SSLContext] | None = None
        if isinstance(ssl_context, ssl.SSLContext):
            self._tls = ssl_context
        else:
            self._make_tls = ssl_context
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._connect_timeout = connect_timeout
        self._max_response = max_response
        self._on_connect = on_connect
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: dict[_Key, list[Connection]] = {}
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
            self._tls_context(key)
        # the ABC, not typing's alias: its isinstance goes through typing's __instancecheck__ (3x slower)
        items = list(headers.items()) if isinstance(headers, collections.abc.Mapping) else list(headers)
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

    def _tls_context(self, key: _Key) -> ssl.SSLContext:
        with self._cond:
            if self._tls is None:
                if self._make_tls is None:
                    raise HttpError(f"no TLS configured for {_where(key)}")
                try:
                    self._tls = self._make_tls()
                except (ssl.SSLError, ValueError, OSError) as exc:
                    raise HttpError(f"the TLS settings for {_where(key)} are unusable: {exc}") from exc
            return self._tls

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
    def _connect(self, key: _Key, timeout: float) -> Connection:
        """A new connection (its slot is already reserved), checked before any use."""
        scheme, host, port = key
        conn = Connection(host, port, timeout, self._tls if scheme == "https" else None)
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

    def _checkout(self, key: _Key, timeout: float) -> Connection | None:
        """A live idle connection, or None with a slot reserved for a new one."""
        deadline = time.monotonic() + timeout  # real waiting, whatever clock ages idle connections
        while True:
            stale: list[Connection] = []
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

    def _oldest_idle(self) -> Connection | None:
        oldest: tuple[float, list[Connection]] | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest[0]):
                oldest = (idle[0].idle_since, idle)
        return oldest[1].pop(0) if oldest is not None else None

    def _checkin(self, conn: Connection, key: _Key, *, reusable: bool) -> None:
        expired: list[Connection] = []
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

    def _discard(self, conn: Connection) -> None:
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
    if isinstance(exc, (GatewayError, ProtocolError)):
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
