"""The mutual TLS between gateways offers TLS 1.3 and 1.2 (X-Road's suites for 1.2), on the edge server."""

from __future__ import annotations

import http.client
import ssl
from typing import Any, Callable, Iterator

import pytest

from gateway.net import EdgeServer, client_ssl_context, server_ssl_context
from trust.keys import SoftToken

from tests.support.pki import PIN

pytestmark = pytest.mark.timeout(60)


def _files(ident: dict[str, Any]) -> tuple[str, str, str | None]:
    key, password = SoftToken(ident["token"], PIN).key_file("auth")
    return str(ident["auth_cert"]), str(key), password


@pytest.fixture(scope="module")
def peer_port(pki: Any) -> Iterator[EdgeServer]:
    ca, _a, b, _ = pki

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ.get("SSL_CLIENT_CERT", "").encode()]
    server = EdgeServer(app, ssl_context=server_ssl_context(*_files(b), ca.pem)).start()
    yield server
    server.stop()


@pytest.mark.parametrize("version, cipher", [
    (None, None),  # what a gateway offers by default: the newest both speak
    (ssl.TLSVersion.TLSv1_3, None),
    (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES256-SHA384"),  # an X-Road peer's CBC suite
    (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES256-GCM-SHA384"),
])
def test_a_peer_connects_with_tls_1_3_or_1_2_and_its_certificate_reaches_the_app(
        pki: Any, peer_port: EdgeServer, version: ssl.TLSVersion | None, cipher: str | None) -> None:
    _ca, a, _b, _ = pki
    ctx = client_ssl_context(*_files(a))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cipher is not None:
        ctx.set_ciphers(cipher)
    conn = http.client.HTTPSConnection("127.0.0.1", peer_port.port, timeout=10, context=ctx)
    try:
        conn.request("GET", "/")
        answer = conn.getresponse().read().decode()
        assert ssl.PEM_cert_to_DER_cert(answer) == ssl.PEM_cert_to_DER_cert(a["auth_cert"].read_text())
        assert conn.sock.version() == ("TLSv1.2" if version is ssl.TLSVersion.TLSv1_2 else "TLSv1.3")
        if cipher is not None:
            assert conn.sock.cipher()[0] == cipher
    finally:
        conn.close()
