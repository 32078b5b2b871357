"""Gateway-to-gateway transport: pooled, kept-alive mutual TLS, peers checked before use.

X-Road opens HTTPS (TLS 1.2, mutual authentication with *auth* certificates) to the
provider's gateway and decides trust in the application, not in the TLS stack: the
peer's certificate must be the one registered for the chosen gateway in the verified
global configuration. DESIGN.md section 5 measured that a full handshake costs ~1.5 ms
of CPU while a kept-alive connection costs ~5 us per exchange, so connections are
pooled (httpx/httpcore) and kept alive.

The peer check happens *before the first byte of a request is sent*: a network
backend wraps httpcore's and, right after the TLS handshake, compares the SHA-256 of
the peer's certificate with the hashes the caller allowed for that address. A
connection to an impostor is closed without leaking the signed message. Because a
pooled connection was checked once when it was opened, the check costs nothing per
exchange; a connection whose address changes owner (configuration update) is dropped
by :meth:`PeerTransport.allow`.

Also here: fetching a peer's OCSP responses (``GET /?cert=<sha1>&cert_hash=<sha256>``
on its OCSP-responses port, answered as ``multipart/related`` of
``application/ocsp-response``) with a small time-bounded cache, as X-Road's client
proxy does to check the provider's auth certificate.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
import typing
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

import httpcore
import httpx

from .errors import GatewayError

# X-Road's default suites (TLS 1.2, CBC-SHA384) after the AEAD ones sild prefers with sild
# peers; an X-Road peer offers only the CBC ones and still finds a match.
_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:ECDHE-ECDSA-AES256-SHA384"
)


PEER_DER = "sild_peer_certificate_der"


class PeerError(GatewayError):
    """A peer gateway could not be reached or did not prove its identity."""

    code = "gateway.peer.error"


class PeerNetworkError(PeerError):
    code = "network_error"


class PeerCertificateRejected(PeerError):
    """The TLS peer is not the gateway the configuration registers for that address."""

    code = "ssl_authentication_failed"


def cert_sha256(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


def client_ssl_context(cert_chain_file: str, key_file: str, password: str | None,
                       ca_certs_pem: bytes | None = None) -> ssl.SSLContext:
    """Client side of the mutual TLS: TLS 1.2, our auth cert, no hostname check.

    ``ca_certs_pem`` (approved CAs of every trusted instance) makes OpenSSL pre-filter
    the server's chain; the authoritative check is the registered-hash check in
    :class:`PeerTransport`. Without it the handshake accepts any certificate.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.set_ciphers(_CIPHERS)
    if ca_certs_pem:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=ca_certs_pem.decode("ascii"))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert_chain_file, key_file, password=password)
    return ctx


def server_ssl_context(cert_chain_file: str, key_file: str, password: str | None,
                       ca_certs_pem: bytes) -> ssl.SSLContext:
    """Server side of the mutual TLS: a client certificate is required.

    Python's ``ssl`` has no verify callback, so the handshake accepts certificates that
    chain to one of the approved CAs (``ca_certs_pem``, all trusted instances); the
    server proxy then checks registration, key usage and OCSP in the application.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_CIPHERS)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_certs_pem.decode("ascii"))
    ctx.load_cert_chain(cert_chain_file, key_file, password=password)
    return ctx


@dataclass(frozen=True)
class PeerResponse:
    status: int
    headers: httpx.Headers
    content: bytes
    peer_cert_der: bytes


class _CheckingStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, check: typing.Callable[[bytes], None],
                 peer_der: bytes = b"") -> None:
        self._inner = inner
        self._check = check
        self.peer_der = peer_der  # kept from the handshake: readable after the connection closed

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(ssl_context, server_hostname, timeout)
        sslobj = stream.get_extra_info("ssl_object")
        der = sslobj.getpeercert(True) if sslobj is not None else None
        try:
            self._check(der or b"")
        except BaseException:
            stream.close()
            raise
        return _CheckingStream(stream, self._check, der or b"")

    def get_extra_info(self, info: str) -> typing.Any:
        if info == PEER_DER:
            return self.peer_der
        return self._inner.get_extra_info(info)


class _CheckingBackend(httpcore.NetworkBackend):
    def __init__(self, owner: "PeerTransport") -> None:
        self._inner = httpcore.SyncBackend()
        self._owner = owner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CheckingStream(stream, lambda der: self._owner._check_peer(host, port, der))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PoolTransport(httpx.BaseTransport):
    """An httpx transport over our own httpcore pool (to plug the checking backend in)."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            resp = self._pool.handle_request(req)
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc), request=request) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise httpx.TransportError(str(exc), request=request) from exc
        content = resp.read()
        resp.close()
        return httpx.Response(status_code=resp.status, headers=resp.headers, content=content,
                              extensions=resp.extensions, request=request)

    def close(self) -> None:
        self._pool.close()


class PeerTransport:
    """Sends transport messages to peer gateways over pooled mutual-TLS connections."""

    def __init__(self, ssl_context: ssl.SSLContext, *, max_connections: int = 64,
                 keepalive_expiry: float = 60.0, connect_timeout: float = 5.0) -> None:
        self._allowed: dict[tuple[str, int], frozenset[bytes]] = {}
        self._lock = threading.Lock()
        self._connect_timeout = connect_timeout
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=max_connections,
            max_keepalive_connections=max_connections, keepalive_expiry=keepalive_expiry,
            network_backend=_CheckingBackend(self), retries=0,
        )
        self._client = httpx.Client(transport=_PoolTransport(self._pool), trust_env=False)

    def allow(self, host: str, port: int, cert_hashes: typing.Iterable[bytes]) -> None:
        """Register the SHA-256 hashes of the auth certificates allowed at ``host:port``."""
        hashes = frozenset(cert_hashes)
        with self._lock:
            self._allowed[(host.lower(), port)] = hashes

    def _check_peer(self, host: str, port: int, der: bytes) -> None:
        if not der:
            raise PeerCertificateRejected(f"peer {host}:{port} presented no certificate")
        with self._lock:
            allowed = self._allowed.get((host.lower(), port), frozenset())
        if cert_sha256(der) not in allowed:
            raise PeerCertificateRejected(
                f"the TLS certificate of {host}:{port} is not registered for that gateway")

    def post(self, url: str, *, headers: dict[str, str], content: bytes,
             timeout: float = 60.0) -> PeerResponse:
        """POST ``content`` to a peer; raises :class:`PeerError` subclasses on failure."""
        return self.request("POST", url, headers=headers, content=content, timeout=timeout)

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                content: bytes | None = None, timeout: float = 60.0) -> PeerResponse:
        try:
            resp = self._client.request(
                method, url, headers=headers, content=content,
                timeout=httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout)))
        except PeerCertificateRejected:
            raise
        except httpx.HTTPError as exc:
            cause = exc.__cause__
            while cause is not None:
                if isinstance(cause, PeerCertificateRejected):
                    raise cause from None
                cause = cause.__cause__ or cause.__context__
            raise PeerNetworkError(f"cannot reach {_origin(url)}: {type(exc).__name__}") from exc
        except ssl.SSLError as exc:
            raise PeerNetworkError(f"TLS with {_origin(url)} failed: {exc.reason}") from exc
        except OSError as exc:
            raise PeerNetworkError(f"cannot reach {_origin(url)}: {exc.strerror or exc}") from exc
        stream = resp.extensions.get("network_stream")
        der = stream.get_extra_info(PEER_DER) if stream is not None else b""
        return PeerResponse(resp.status_code, resp.headers, resp.content, der or b"")

    def close(self) -> None:
        self._client.close()


def _origin(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.host}:{u.port}"


# -- OCSP responses of peers -------------------------------------------------------

def parse_ocsp_multipart(content_type: str, body: bytes) -> list[bytes]:
    """DER OCSP responses out of a ``multipart/related`` answer of the OCSP-responses port."""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise PeerError("OCSP responses answer is not multipart", code="gateway.peer.ocsp_malformed")
    out = []
    for part in msg.iter_parts():
        if part.get_content_type() == "application/ocsp-response":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                out.append(payload)
    return out


class PeerOcspCache:
    """Fetches and caches the OCSP responses a peer serves for its auth certificate.

    A cached answer is reused for ``ttl`` seconds (well inside ocspFreshnessSeconds);
    the caller still validates the response's freshness at the moment of use.
    """

    def __init__(self, *, ttl: float = 300.0, timeout: float = 5.0, transport: "PeerTransport | None" = None,
                 clock: typing.Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._timeout = timeout
        self._cache: dict[bytes, tuple[float, list[bytes]]] = {}
        self._lock = threading.Lock()
        self._transport = transport  # sild peers: over the pooled mutual-TLS connection
        self._client = httpx.Client(trust_env=False, timeout=timeout)

    def _get(self, url: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        if self._transport is not None and url.startswith("https://"):
            full = str(httpx.URL(url, params=params))
            resp = self._transport.request("GET", full, timeout=self._timeout)
            return resp.status, resp.headers.get("content-type", ""), resp.content
        try:
            r = self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise PeerNetworkError(f"cannot fetch OCSP responses from {_origin(url)}") from exc
        return r.status_code, r.headers.get("content-type", ""), r.content

    def get(self, base_url: str, cert_der: bytes) -> list[bytes]:
        key = hashlib.sha256(cert_der).digest()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        params = {"cert": hashlib.sha1(cert_der).hexdigest(), "cert_hash": key.hex()}
        status, ctype, content = self._get(base_url.rstrip("/") + "/", params)
        if status != 200:
            raise PeerError(f"peer OCSP responses endpoint answered HTTP {status}",
                            code="gateway.peer.ocsp_unavailable")
        responses = parse_ocsp_multipart(ctype, content)
        with self._lock:
            self._cache[key] = (now, responses)
        return responses

    def close(self) -> None:
        self._client.close()
