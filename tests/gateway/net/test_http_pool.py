"""The gateway's pooled HTTP/1.1 client: real TLS, real certificates, a real server on 127.0.0.1.

Pooling is asserted through what the server saw (connections accepted, requests
parsed, the first bytes of each connection), never through timing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import socketserver
import ssl
import threading
import time

import pytest

from gateway.proxy import BackendClients
from gateway.net import HttpError, HttpPool, HttpTimeout, ResponseTooLarge
from gateway.net._http_pool import Headers, HttpConnectError, HttpProtocolError
from gateway.net import (
    PeerCertificateRejected, PeerNetworkError, PeerResponseTooLarge, PeerTransport, client_ssl_context,
    server_ssl_context,
)
from trust.keys import SoftToken

from tests.support.pki import PIN

NOW = dt.datetime.now(dt.timezone.utc)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def setup(self) -> None:
        srv = self.server
        with srv.lock:
            srv.connections += 1
        if srv.tls is not None:
            self.request = srv.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self) -> None:
        try:
            first = self.rfile.peek(1)[:1]
        except OSError:
            first = b""
        with self.server.lock:
            self.server.first_bytes.append(first)
        if first:
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.request.close()
            if self.path == "/hangup":
                self.server.hung_up.set()

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, body: bytes, *, extra: tuple[tuple[str, str], ...] = (), length: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        for name, value in extra:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests.append((self.command, self.path, body))
        if getattr(self, "armed", False):  # closes the kept-alive connection without an answer
            self.close_connection = True
            return
        if self.path == "/arm":
            self.armed = True
            self._reply(b"armed")
        elif self.path == "/close":
            self.close_connection = True
            self._reply(b"bye", extra=(("Connection", "close"),))
        elif self.path == "/hangup":  # answers as kept alive, then closes anyway
            self._reply(b"ok")
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(1.5)
            self._reply(b"late")
        elif self.path == "/big":
            self._reply(b"x" * 5000)
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(5):
                self.wfile.write(b"3E8\r\n" + b"y" * 1000 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path in _RAW:
            self.wfile.write(_RAW[self.path])
            self.close_connection = self.path in ("/eof", "/http10")
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Multi", "one")
            self.send_header("x-multi", "two")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        else:
            self._reply(hashlib.sha256(body).digest())


_RAW = {  # answers written byte for byte
    "/eof": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes",
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n"
                 b"X-Folded: a\r\n  b\r\n\r\nmade",
    "/http10": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "/space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "/two-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "/not-http": b"SSH-2.0-OpenSSH\r\n\r\n",
}


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.lock = threading.Lock()
        self.connections = 0
        self.first_bytes: list[bytes] = []
        self.requests: list[tuple[str, str, bytes]] = []
        self.hung_up = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # failed handshakes are part of the tests

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def _ctx(ident, ca, server=False):
    key, pw = SoftToken(ident["token"], PIN).key_file("auth")
    if server:
        return server_ssl_context(str(ident["auth_cert"]), str(key), pw, ca.pem)
    return client_ssl_context(str(ident["auth_cert"]), str(key), pw)


def _der(path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


@pytest.fixture
def mtls(pki):
    """A fresh mutual-TLS server (fresh counters) presenting b's auth certificate."""
    ca, a, b, _ = pki
    srv = _Server(_ctx(b, ca, server=True))
    yield srv
    srv.stop()


@pytest.fixture
def transport(pki, mtls):
    ca, a, b, _ = pki
    t = PeerTransport(_ctx(a, ca))
    t.allow("127.0.0.1", mtls.server_address[1], [hashlib.sha256(_der(b["auth_cert"])).digest()])
    yield t
    t.close()


def test_pooled_connection_is_reused_and_carries_the_peer_certificate(pki, mtls, transport):
    _, _, b, _ = pki
    for i in range(5):
        resp = transport.post(mtls.url + "/echo", headers={"Content-Type": "x/y"}, content=b"m%d" % i)
        assert resp.status == 200 and resp.reason == "OK"
        assert resp.content == hashlib.sha256(b"m%d" % i).digest()
        assert resp.peer_cert_der == _der(b["auth_cert"])
    assert mtls.connections == 1
    assert [r[2] for r in mtls.requests] == [b"m%d" % i for i in range(5)]


def test_wrong_peer_certificate_is_refused_before_any_byte(pki, mtls):
    ca, a, _, _ = pki
    t = PeerTransport(_ctx(a, ca))
    t.allow("127.0.0.1", mtls.server_address[1], [hashlib.sha256(_der(a["auth_cert"])).digest()])
    try:
        with pytest.raises(PeerCertificateRejected):
            t.post(mtls.url + "/echo", headers={}, content=b"secret")
        for _ in range(200):  # the server thread records the connection's first bytes
            if mtls.first_bytes:
                break
            time.sleep(0.01)
    finally:
        t.close()
    assert mtls.connections == 1
    assert mtls.first_bytes == [b""]  # the handshake happened, then nothing was sent
    assert mtls.requests == []


def test_changed_allowed_hashes_drop_pooled_connections(pki, mtls, transport):
    _, a, b, _ = pki
    port = mtls.server_address[1]
    good = hashlib.sha256(_der(b["auth_cert"])).digest()
    other = hashlib.sha256(_der(a["auth_cert"])).digest()
    transport.post(mtls.url + "/", headers={}, content=b"1")
    transport.allow("127.0.0.1", port, [good])  # unchanged: the connection stays
    transport.post(mtls.url + "/", headers={}, content=b"2")
    assert mtls.connections == 1
    transport.allow("127.0.0.1", port, [good, other])  # changed: checked again on a new connection
    transport.post(mtls.url + "/", headers={}, content=b"3")
    assert mtls.connections == 2
    transport.allow("127.0.0.1", port, [other])  # the gateway's certificate is no longer registered
    with pytest.raises(PeerCertificateRejected):
        transport.post(mtls.url + "/", headers={}, content=b"4")
    assert [r[2] for r in mtls.requests] == [b"1", b"2", b"3"]


def test_idle_connection_closed_by_the_server_is_not_used_and_post_not_repeated(mtls, transport):
    transport.request("GET", mtls.url + "/hangup")
    assert mtls.hung_up.wait(5)
    resp = transport.post(mtls.url + "/echo", headers={}, content=b"once")
    assert resp.content == hashlib.sha256(b"once").digest()
    assert mtls.connections == 2
    assert [r[2] for r in mtls.requests].count(b"once") == 1


def test_connection_closed_by_the_server_as_a_request_arrives(pki, mtls):
    """A GET is sent once more on a new connection; a POST is not repeated but fails."""
    ca, a, _, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca))
    try:
        pool.request("GET", mtls.url + "/arm")
        assert pool.request("GET", mtls.url + "/echo").status == 200
        assert mtls.connections == 2
        pool.request("GET", mtls.url + "/arm")
        with pytest.raises(HttpProtocolError):
            pool.request("POST", mtls.url + "/echo", body=b"not twice")
        assert [r[2] for r in mtls.requests].count(b"not twice") == 1
        assert mtls.connections == 2  # no new connection: the POST was not sent again
    finally:
        pool.close()


def test_connection_close_answer_is_not_pooled(pki, mtls):
    ca, a, b, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca))
    try:
        assert pool.request("GET", mtls.url + "/close").content == b"bye"
        assert pool.idle_count("https", "127.0.0.1", mtls.server_address[1]) == 0
        pool.request("GET", mtls.url + "/echo")
        assert pool.idle_count("https", "127.0.0.1", mtls.server_address[1]) == 1
        assert mtls.connections == 2
    finally:
        pool.close()


def test_read_timeout_is_a_timeout_and_the_connection_is_dropped(pki, mtls, transport):
    ca, a, _, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca))
    try:
        with pytest.raises(HttpTimeout):
            pool.request("GET", mtls.url + "/slow", timeout=0.3)
        assert pool.idle_count("https", "127.0.0.1", mtls.server_address[1]) == 0
    finally:
        pool.close()
    with pytest.raises(PeerNetworkError, match="timed out"):
        transport.request("GET", mtls.url + "/slow", timeout=0.3)


@pytest.mark.parametrize("path", ["/big", "/big-chunked"], ids=["content-length", "chunked"])
def test_oversize_answer_is_refused_and_not_pooled(pki, mtls, path):
    ca, a, b, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca), max_response=4000)
    port = mtls.server_address[1]
    try:
        with pytest.raises(ResponseTooLarge, match="4000"):
            pool.request("GET", mtls.url + path)
        assert pool.idle_count("https", "127.0.0.1", port) == 0
        assert pool.request("GET", mtls.url + "/echo").status == 200  # a fresh connection works
        assert mtls.connections == 2
    finally:
        pool.close()
    t = PeerTransport(_ctx(a, ca), max_response=4000)
    t.allow("127.0.0.1", port, [hashlib.sha256(_der(b["auth_cert"])).digest()])
    try:
        with pytest.raises(PeerResponseTooLarge):
            t.request("GET", mtls.url + path)
    finally:
        t.close()


def test_headers_are_case_insensitive_and_keep_repeated_fields(pki, mtls):
    ca, a, _, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca))
    try:
        resp = pool.request("GET", mtls.url + "/chunked")
        assert resp.content == b"hello world"
        assert resp.headers.get_list("X-MULTI") == ["one", "two"]
        assert resp.headers["x-multi"] == "one, two"
        assert ("X-Multi", "one") in resp.headers.multi_items() and ("x-multi", "two") in resp.headers.multi_items()
        assert "transfer-encoding" in resp.headers and resp.headers.get("nope") is None
        assert pool.idle_count("https", "127.0.0.1", mtls.server_address[1]) == 1  # chunked end read: pooled
    finally:
        pool.close()
    h = Headers([("A", "1")])
    with pytest.raises(KeyError):
        h["b"]


def test_idle_connections_expire(pki, mtls):
    ca, a, _, _ = pki
    now = [1000.0]
    pool = HttpPool(ssl_context=_ctx(a, ca), keepalive_expiry=30, clock=lambda: now[0])
    try:
        pool.request("GET", mtls.url + "/echo")
        now[0] += 29
        pool.request("GET", mtls.url + "/echo")
        assert mtls.connections == 1
        now[0] += 31
        pool.request("GET", mtls.url + "/echo")
        assert mtls.connections == 2
    finally:
        pool.close()


def test_pool_size_is_bounded(pki, mtls):
    ca, a, _, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca), max_connections=1, connect_timeout=0.2)
    started = threading.Event()
    slow: list[object] = []

    def call_slow() -> None:
        started.set()
        slow.append(pool.request("GET", mtls.url + "/slow").content)

    worker = threading.Thread(target=call_slow)
    try:
        worker.start()
        started.wait(5)
        for _ in range(200):
            if mtls.requests:
                break
            time.sleep(0.01)
        with pytest.raises(HttpTimeout, match="no free connection"):
            pool.request("GET", mtls.url + "/echo")
        worker.join(10)
        assert slow == [b"late"]
        assert pool.request("GET", mtls.url + "/echo").status == 200
        assert mtls.connections == 1
    finally:
        worker.join(10)
        pool.close()


def test_unreachable_and_unexpected_tls_are_connect_errors(pki):
    ca, a, _, _ = pki
    pool = HttpPool(ssl_context=_ctx(a, ca), connect_timeout=1)
    try:
        with pytest.raises(HttpConnectError):
            pool.request("GET", "https://127.0.0.1:1/")
    finally:
        pool.close()
    plain = _Server(None)
    pool = HttpPool(ssl_context=_ctx(a, ca), connect_timeout=1)
    try:
        with pytest.raises((HttpConnectError, HttpProtocolError)):
            pool.request("GET", plain.url.replace("http:", "https:") + "/echo")
    finally:
        pool.close()
        plain.stop()


# -- backends: plain HTTP, TLS verified with the service's CA, never the environment's --------

@pytest.fixture(scope="module")
def backend_tls(pki):
    """A server certificate for 127.0.0.1 issued by the test CA."""
    ca, _, _, base = pki
    cert_file, key_file = ca.tls_server(base, "backend", "backend", not_before=NOW - dt.timedelta(days=1),
                                        not_after=NOW + dt.timedelta(days=30))
    ca_file = base / "ca.pem"
    ca_file.write_bytes(ca.pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert_file), str(key_file))
    srv = _Server(ctx)
    yield srv, ca.pem.decode("ascii"), ca_file
    srv.stop()


def test_backend_tls_settings(backend_tls, monkeypatch):
    srv, ca_pem, ca_file = backend_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # must not widen the trust
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")  # must not be used
    clients = BackendClients()
    try:
        assert clients.get(True, ca_pem).request("POST", srv.url + "/", body=b"b").content == \
            hashlib.sha256(b"b").digest()
        assert clients.get(True, ca_pem) is clients.get(True, ca_pem)
        assert clients.get(False, None).request("GET", srv.url + "/").status == 200
        with pytest.raises(HttpConnectError, match="TLS"):
            clients.get(True, None).request("GET", srv.url + "/")
        broken = clients.get(True, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        with pytest.raises(HttpError, match="unusable"):
            broken.request("GET", srv.url + "/")
    finally:
        clients.close()
    plain, lazy = _Server(None), BackendClients()
    try:  # a TLS setting is only built for https: a broken CA does not stop plain HTTP
        assert lazy.get(True, "not a pem").request("GET", plain.url + "/echo").status == 200
    finally:
        lazy.close()
        plain.stop()


def test_plain_http_backend_keeps_alive_and_forwards_repeated_headers():
    srv = _Server(None)
    clients = BackendClients()
    try:
        pool = clients.get(True, None)
        for i in range(3):
            resp = pool.request("POST", srv.url + "/echo?q=1", headers=[("X-A", "1"), ("X-A", "2")],
                                body=b"%d" % i, timeout=5)
            assert resp.content == hashlib.sha256(b"%d" % i).digest()
        assert pool.request("POST", srv.url + "/echo").content == hashlib.sha256(b"").digest()  # Content-Length: 0
        assert srv.connections == 1
        assert [r[1] for r in srv.requests][:1] == ["/echo?q=1"]
    finally:
        clients.close()
        srv.stop()


def test_server_proxy_maps_backend_failures_to_network_and_size_faults(pki):
    """Timeout, unreachable and oversize backends as X-Road's service_failed faults."""
    from types import SimpleNamespace

    from trust.protocol import XRoadFault
    from gateway.proxy import ServerProxy
    from gateway.serverconf import ServiceInfo
    from trust.protocol import ServiceId

    srv = _Server(None)
    backends = BackendClients(max_response=4000)
    proxy = ServerProxy(SimpleNamespace(backends=backends))  # type: ignore[arg-type]
    service = ServiceId("EE", "GOV", "70000001", "tax", "echo")
    local = ServiceInfo(id=service, kind="REST", url=srv.url, timeout_seconds=1, tls_verify=False, tls_ca_pem=None,
                        disabled=False, disabled_notice=None, description_id=1, description_url=srv.url)
    try:
        ok = proxy._backend(local, "POST", srv.url + "/echo", [("X-A", "1")], b"x")
        assert ok.status == 200 and ok.content == hashlib.sha256(b"x").digest()
        cases = [(srv.url + "/slow", "network_error", "did not answer in time"),
                 ("http://127.0.0.1:1/", "network_error", "cannot reach"),
                 (srv.url + "/big", "invalid_message", "size limit")]
        for url, leaf, text in cases:
            with pytest.raises(XRoadFault) as caught:
                proxy._backend(local, "GET", url, {}, None)
            assert caught.value.fault_code == f"server.serverproxy.service_failed.{leaf}"
            assert text in caught.value.message
    finally:
        backends.close()
        srv.stop()


def test_answer_framing_read_by_the_pool():
    """Close-delimited, interim 100, folded fields and HTTP/1.0 answers; malformed heads refused."""
    srv = _Server(None)
    pool = HttpPool()
    port = srv.server_address[1]
    try:
        eof = pool.request("GET", srv.url + "/eof")
        assert eof.content == b"until the connection closes" and pool.idle_count("http", "127.0.0.1", port) == 0
        made = pool.request("POST", srv.url + "/continue", body=b"x")
        assert (made.status, made.reason, made.content) == (201, "Created", b"made")
        assert made.headers["x-folded"] == "a b"
        assert pool.idle_count("http", "127.0.0.1", port) == 1
        old = pool.request("GET", srv.url + "/http10")
        assert old.content == b"ok" and pool.idle_count("http", "127.0.0.1", port) == 0  # HTTP/1.0: not kept
        for path in ("/space-before-colon", "/two-lengths", "/not-http"):
            with pytest.raises(HttpProtocolError):
                pool.request("GET", srv.url + path)
        assert pool.idle_count("http", "127.0.0.1", port) == 0
        assert pool.request("GET", srv.url + "/echo").status == 200
    finally:
        pool.close()
        srv.stop()


def test_threads_share_a_bounded_pool(pki, mtls):
    """8 threads, 4 connections at most: every answer is the one to its own request."""
    pool = HttpPool(ssl_context=_ctx(pki[1], pki[0]), max_connections=4)
    wrong: list[bytes] = []

    def work(n: int) -> None:
        for i in range(25):
            body = b"%d-%d" % (n, i)
            if pool.request("POST", mtls.url + "/echo", body=body).content != hashlib.sha256(body).digest():
                wrong.append(body)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        pool.close()
    assert not wrong and len(mtls.requests) == 200
    assert 1 <= mtls.connections <= 4


def test_request_head_is_written_whole_and_refuses_injected_fields():
    """The head leaves as ``http.client`` would write it; a CR/LF in a value or a bad name sends nothing."""
    import socket

    from gateway.net._http_conn import Connection

    ours, theirs = socket.socketpair()
    try:
        conn = Connection("backend.example", 8080, 5, None)
        conn.sock = ours
        conn.send_request("POST", "/x?y=1", [("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", '""'),
                                             ("Content-Length", "999"), ("X-Folded", "a\r\n b")], b"<a/>")
        theirs.settimeout(5)
        assert theirs.recv(65536) == (b"POST /x?y=1 HTTP/1.1\r\nHost: backend.example:8080\r\n"
                                      b"Accept-Encoding: identity\r\nContent-Type: text/xml; charset=utf-8\r\n"
                                      b'SOAPAction: ""\r\nX-Folded: a\r\n b\r\nContent-Length: 4\r\n\r\n<a/>')
        for bad in ([("X-A", "1\r\nX-Injected: 2")], [("X-A", "1\nX")], [(":x", "1")], [("", "1")],
                    [("X-\u00e4", "1")], [("X-A", "\u20ac")]):
            fresh = Connection("backend.example", 8080, 5, None)
            fresh.sock = ours
            with pytest.raises((ValueError, UnicodeEncodeError)):
                fresh.send_request("GET", "/", bad, None)
        theirs.setblocking(False)
        with pytest.raises(BlockingIOError):
            theirs.recv(1)  # nothing of the refused requests was sent
    finally:
        ours.close()
        theirs.close()
