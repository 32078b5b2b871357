"""Gateway-to-gateway transport: pooled, kept-alive mutual TLS, peers checked before use.

X-Road opens HTTPS (TLS 1.2 or 1.3, mutual authentication with *auth* certificates) to the
provider's gateway and decides trust in the application, not in the TLS stack: the
peer's certificate must be the one registered for the chosen gateway in the verified
global configuration. DESIGN.md section 5 measured that a full handshake costs ~1.5 ms
of CPU while a kept-alive connection costs ~5 us per exchange, so connections are
pooled (:mod:`gateway.net._http_pool`, on ``http.client``) and kept alive.

The peer check happens *before the first byte of a request is sent*: the pool calls
back right after the TLS handshake of each new connection, and the SHA-256 of the
peer's certificate is compared with the hashes the caller allowed for that address. A
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

import binascii
import hashlib
import ssl
import threading
import time
import typing
from urllib.parse import urlencode, urlsplit

from trust.protocol import MimeError, parse_content_type, split_multipart

from gateway.errors import GatewayError
from ._http_pool import MAX_RESPONSE, HttpError, HttpPool, HttpResponse, ResponseTooLarge

# TLS 1.2: X-Road's default suites (CBC-SHA384) after the AEAD ones sild prefers with sild
# peers; an X-Road peer offers only the CBC ones and still finds a match. TLS 1.3 (offered
# first by both sides, X-Road 7 speaks it too) has its own suites, all AEAD: OpenSSL's defaults.
_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA256:ECDHE-ECDSA-AES256-SHA384"
)


class PeerError(GatewayError):
    """A peer gateway could not be reached or did not prove its identity."""

    code = "gateway.peer.error"


class PeerNetworkError(PeerError):
    code = "network_error"


class PeerResponseTooLarge(PeerError):
    """The peer's answer exceeds the message size limit; it was not read."""

    code = "gateway.peer.response_too_large"


class PeerCertificateRejected(PeerError):
    """The TLS peer is not the gateway the configuration registers for that address."""

    code = "ssl_authentication_failed"


def cert_sha256(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


def client_ssl_context(cert_chain_file: str, key_file: str, password: str | None,
                       ca_certs_pem: bytes | None = None) -> ssl.SSLContext:
    """Client side of the mutual TLS: TLS 1.3 or 1.2, our auth cert, no hostname check.

    ``ca_certs_pem`` (approved CAs of every trusted instance) makes OpenSSL pre-filter
    the server's chain; the authoritative check is the registered-hash check in
    :class:`PeerTransport`. Without it the handshake accepts any certificate.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
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
    """Server side of the mutual TLS (1.3 or 1.2): a client certificate is required.

    Python's ``ssl`` has no verify callback, so the handshake accepts certificates that
    chain to one of the approved CAs (``ca_certs_pem``, all trusted instances); the
    server proxy then checks registration, key usage and OCSP in the application.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_CIPHERS)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_certs_pem.decode("ascii"))
    ctx.load_cert_chain(cert_chain_file, key_file, password=password)
    return ctx


PeerResponse = HttpResponse  # status, reason, headers, content, peer_cert_der


class PeerTransport:
    """Sends transport messages to peer gateways over pooled mutual-TLS connections."""

    def __init__(self, ssl_context: ssl.SSLContext, *, max_connections: int = 64,
                 keepalive_expiry: float = 50.0, connect_timeout: float = 5.0,
                 max_response: int = MAX_RESPONSE) -> None:
        # idle connections expire before the peer's server drops them (sild's after 60 s idle),
        # so a request rarely meets a connection closing under it
        self._allowed: dict[tuple[str, int], frozenset[bytes]] = {}
        self._lock = threading.Lock()
        self._connect_timeout = connect_timeout
        self._pool = HttpPool(ssl_context=ssl_context, max_connections=max_connections,
                              keepalive_expiry=keepalive_expiry, connect_timeout=connect_timeout,
                              max_response=max_response, on_connect=self._check_peer)

    def allow(self, host: str, port: int, cert_hashes: typing.Iterable[bytes]) -> None:
        """Register the SHA-256 hashes of the auth certificates allowed at ``host:port``.

        Called before every exchange with the configuration's current hashes; when they
        changed, the pooled connections to that address (checked against the old ones)
        are dropped.
        """
        hashes = frozenset(cert_hashes)
        key = (host.lower(), port)
        with self._lock:
            old = self._allowed.get(key)
            if old == hashes:
                return
            self._allowed[key] = hashes
        if old is not None:
            self._pool.drop("https", host, port)

    def drop_connections(self) -> None:
        """Drop every pooled connection: this side's auth certificate changed (a renewed auth key).

        The TLS context already holds the new key, but a kept-alive connection was
        handshaken with the old one; a peer that registered only the new certificate
        would refuse the next message sent on it. Connections in use close when they return.
        """
        with self._lock:
            addresses = list(self._allowed)
        for host, port in addresses:
            self._pool.drop("https", host, port)

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
        if not url.lower().startswith("https://"):
            raise PeerNetworkError(f"peers are reached over https only, not {url[:60]!r}")
        try:
            return self._pool.request(method, url, headers=headers or (), body=content, timeout=timeout,
                                      connect_timeout=min(self._connect_timeout, timeout))
        except ResponseTooLarge as exc:
            raise PeerResponseTooLarge(str(exc)) from exc
        except HttpError as exc:  # the pool's messages name the address and what failed
            raise PeerNetworkError(str(exc)) from exc

    def close(self) -> None:
        self._pool.close()


def _origin(url: str) -> str:
    u = urlsplit(url)
    return f"{u.hostname}:{u.port or (443 if u.scheme == 'https' else 80)}"


# -- OCSP responses of peers -------------------------------------------------------

def parse_ocsp_multipart(content_type: str, body: bytes) -> list[bytes]:
    """DER OCSP responses out of a ``multipart/related`` answer of the OCSP-responses port.

    Read by trust.protocol's one MIME reader; other parts are skipped, a part sent in
    base64 or quoted-printable is decoded, an unclosed last part is kept."""
    try:
        ctype = parse_content_type(content_type)
        if not ctype.is_multipart() or not ctype.boundary:
            raise MimeError("no multipart boundary", "content_type")
        parts = split_multipart(body, ctype.boundary).parts
    except MimeError as exc:
        message = "OCSP responses answer is " + ("malformed" if exc.reason == "malformed" else "not multipart")
        raise PeerError(message, code="gateway.peer.ocsp_malformed") from exc
    out = []
    for headers, data in parts:
        if _media_type(headers.content_type) != "application/ocsp-response":
            continue
        encoding = (headers.get("content-transfer-encoding") or "").strip().lower()
        try:
            if encoding == "base64":
                data = binascii.a2b_base64(data)
            elif encoding == "quoted-printable":
                data = binascii.a2b_qp(data)
        except binascii.Error as exc:
            raise PeerError(f"OCSP response part is not valid {encoding}", code="gateway.peer.ocsp_malformed") from exc
        out.append(data)
    return out


def _media_type(value: str | None) -> str:
    """A part's media type; none or an unreadable one is ``text/plain`` (RFC 2045 section 5.2)."""
    try:
        return parse_content_type(value).media_type
    except MimeError:
        return "text/plain"


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
        self._plain = HttpPool(connect_timeout=timeout, max_connections=8)  # X-Road peers: plain HTTP

    def _get(self, url: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        full = url + ("&" if "?" in url else "?") + urlencode(params)
        if self._transport is not None and url.startswith("https://"):
            resp = self._transport.request("GET", full, timeout=self._timeout)
            return resp.status, resp.headers.get("content-type", ""), resp.content
        try:
            r = self._plain.request("GET", full, timeout=self._timeout)
        except HttpError as exc:
            raise PeerNetworkError(f"cannot fetch OCSP responses from {_origin(url)}: {exc}") from exc
        return r.status, r.headers.get("content-type", ""), r.content

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
        self._plain.close()
