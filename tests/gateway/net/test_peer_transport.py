"""Mutual TLS between two gateway ends: real certificates, pooled keep-alive, peer check first."""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl

import pytest

from gateway.net import (
    PeerCertificateRejected, PeerNetworkError, PeerTransport, client_ssl_context, server_ssl_context,
)
from gateway.net import WsgiServer
from trust.keys import SoftToken

from tests.support.pki import PIN, TestCa, make_gateway_identity

NOW = dt.datetime.now(dt.timezone.utc)


def _ctx(ident, ca, server=False):
    key, pw = SoftToken(ident["token"], PIN).key_file("auth")
    if server:
        return server_ssl_context(str(ident["auth_cert"]), str(key), pw, ca.pem)
    return client_ssl_context(str(ident["auth_cert"]), str(key), pw)


def _der(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text())


@pytest.fixture(scope="module")
def server(pki):
    ca, a, b, _ = pki
    seen = []

    def app(environ, start_response):
        seen.append(environ.get("SSL_CLIENT_CERT"))
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [hashlib.sha256(body).digest()]

    srv = WsgiServer(app, ssl_context=_ctx(b, ca, server=True)).start()
    yield srv, seen
    srv.stop()


def test_exchange_with_registered_peer_and_client_cert_reaches_app(pki, server):
    ca, a, b, _ = pki
    srv, seen = server
    transport = PeerTransport(_ctx(a, ca))
    transport.allow(srv.host, srv.port, [hashlib.sha256(_der(b["auth_cert"])).digest()])
    try:
        for i in range(3):
            resp = transport.post(srv.url + "/", headers={"content-type": "x/y"}, content=b"m%d" % i)
            assert resp.status == 200 and resp.content == hashlib.sha256(b"m%d" % i).digest()
            assert resp.peer_cert_der == _der(b["auth_cert"])
        assert ssl.PEM_cert_to_DER_cert(seen[-1]) == _der(a["auth_cert"])
    finally:
        transport.close()


def test_unregistered_peer_certificate_is_refused_before_sending(pki, server):
    ca, a, b, _ = pki
    srv, seen = server
    before = len(seen)
    transport = PeerTransport(_ctx(a, ca))
    transport.allow(srv.host, srv.port, [hashlib.sha256(_der(a["auth_cert"])).digest()])
    try:
        with pytest.raises(PeerCertificateRejected):
            transport.post(srv.url + "/", headers={}, content=b"secret")
        assert len(seen) == before
    finally:
        transport.close()


def test_client_without_trusted_certificate_cannot_handshake(pki, server, tmp_path):
    ca, a, b, _ = pki
    srv, _ = server
    other = TestCa.create("Other CA", NOW)
    c = make_gateway_identity(other, tmp_path, "EE/GOV/70000009/gw9", NOW)
    transport = PeerTransport(_ctx(c, other))
    transport.allow(srv.host, srv.port, [hashlib.sha256(_der(b["auth_cert"])).digest()])
    try:
        with pytest.raises(PeerNetworkError):
            transport.post(srv.url + "/", headers={}, content=b"x")
    finally:
        transport.close()


def test_unreachable_peer_is_a_network_error(pki):
    ca, a, b, _ = pki
    transport = PeerTransport(_ctx(a, ca), connect_timeout=1)
    try:
        with pytest.raises(PeerNetworkError):
            transport.post("https://127.0.0.1:1/", headers={}, content=b"x")
    finally:
        transport.close()


def test_ocsp_responses_of_an_xroad_peer_over_plain_http_are_fetched_once_per_ttl(pki):
    """X-Road peers serve their OCSP responses on plain HTTP; the cache asks again only after ttl."""
    import base64

    from gateway.net import PeerOcspCache

    ca, a, b, _ = pki
    der = _der(b["auth_cert"])
    ocsp = b"\x30\x03\x0a\x01\x00"  # stands for a DER OCSP response; the cache does not parse it
    asked = []

    def app(environ, start_response):
        asked.append(environ.get("QUERY_STRING", ""))
        body = (b"--bnd\r\nContent-Type: application/ocsp-response\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + base64.b64encode(ocsp) + b"\r\n--bnd--\r\n")
        start_response("200 OK", [("Content-Type", 'multipart/related; boundary="bnd"'),
                                  ("Content-Length", str(len(body)))])
        return [body]

    now = [100.0]
    srv = WsgiServer(app).start()
    cache = PeerOcspCache(ttl=300, clock=lambda: now[0])
    try:
        assert cache.get(f"http://127.0.0.1:{srv.port}/", der) == [ocsp]
        assert cache.get(f"http://127.0.0.1:{srv.port}/", der) == [ocsp]
        assert len(asked) == 1
        assert f"cert={hashlib.sha1(der).hexdigest()}" in asked[0]
        assert f"cert_hash={hashlib.sha256(der).hexdigest()}" in asked[0]
        now[0] += 301
        cache.get(f"http://127.0.0.1:{srv.port}/", der)
        assert len(asked) == 2
    finally:
        cache.close()
        srv.stop()
    unreachable = PeerOcspCache(timeout=1)
    try:
        with pytest.raises(PeerNetworkError):
            unreachable.get("http://127.0.0.1:1/", der)
    finally:
        unreachable.close()
