"""Real mutual TLS on 127.0.0.1: cheroot's builtin adapter as server, httpx as client."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cheroot import wsgi
from cryptography import x509

from trust.pki import TrustPolicy
from trust.services import CertificateAuthority
from trust.services._bundle import ocsp_responder
from trust.pki import fingerprint_hex
from trust.protocol import SecurityServerId
from trust.keys import KeyType, SoftToken
from trust.pki._ocsp import build_ocsp_request
from trust.pki import validate_certificate
from trust.pki import client_context, server_context, trust_anchors
from trust.pki._tls import TlsError, cheroot_adapter, httpx_peer_certificate, peer_certificate_from_environ

PIN = "test-pin"


@pytest.fixture(scope="module")
def now() -> dt.datetime:
    # TLS stacks read the real clock, so certificates here must be valid now
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def ca(new_ca: Callable[..., CertificateAuthority], now: dt.datetime) -> CertificateAuthority:
    return new_ca(now=now, intermediate=True, key_type=KeyType.EC_P256)


def _gateway(ca: CertificateAuthority, directory: Any, code: str, now: dt.datetime,
             key_type: KeyType = KeyType.EC_P256) -> tuple[SoftToken, list[x509.Certificate]]:
    token = SoftToken(directory / code, PIN)
    token.generate("auth", key_type)
    cert = ca.issue_auth(SecurityServerId("EE", "GOV", "70000001", code), now=now,
                         public_key=token.public_key("auth")).cert
    return token, [cert, *ca.intermediates]


@pytest.fixture(scope="module")
def gateways(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory, now: dt.datetime) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("tokens")
    return {
        "server": _gateway(ca, directory, "gw1", now),
        "client": _gateway(ca, directory, "gw2", now, KeyType.RSA2048),
    }


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    cert = peer_certificate_from_environ(environ)
    body = f"{fingerprint_hex(cert) if cert else 'none'} {environ.get('SSL_PROTOCOL')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def server(ca: CertificateAuthority, gateways: dict[str, Any]) -> Iterator[str]:
    token, chain = gateways["server"]
    policy = TrustPolicy(instance="EE", cas=(ca.approved_ca(),))
    httpd = wsgi.Server(("127.0.0.1", 0), _echo, numthreads=2)
    httpd.ssl_adapter = cheroot_adapter(token, "auth", chain, client_cas=trust_anchors(policy))
    httpd.prepare()
    thread = threading.Thread(target=httpd.serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.bind_addr[1]}/"
    httpd.stop()
    thread.join(timeout=10)


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
@pytest.mark.conformance(area="transport", expected="mutual TLS handshake on auth certificates")
def test_mutual_handshake(server: str, gateways: dict[str, Any], ca: CertificateAuthority, tls13: bool,
                          now: dt.datetime) -> None:
    token, chain = gateways["client"]
    with httpx.Client(verify=client_context(token, "auth", chain, tls13=tls13), trust_env=False) as client:
        response = client.get(server)
        server_cert = httpx_peer_certificate(response)
    seen_fingerprint, protocol = response.text.split()
    assert seen_fingerprint == fingerprint_hex(chain[0])  # the server saw our auth certificate
    assert protocol == ("TLSv1.3" if tls13 else "TLSv1.2")
    assert server_cert == gateways["server"][1][0]  # we saw its certificate, and can now validate it
    policy = TrustPolicy(instance="EE", cas=(ca.approved_ca(),))
    ocsp = ocsp_responder(ca).respond(build_ocsp_request(server_cert, ca.issuing_cert), now)
    assert validate_certificate(server_cert, policy, at=now, ocsp=ocsp, purpose="auth").cert == server_cert


def test_client_without_certificate_is_refused(server: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with httpx.Client(verify=context, trust_env=False) as client:
        with pytest.raises(httpx.HTTPError):
            client.get(server)


@pytest.mark.conformance(area="transport")
def test_client_from_unapproved_ca_is_refused(server: str, tmp_path: Any, now: dt.datetime) -> None:
    stranger = CertificateAuthority.init(tmp_path / "x", instance="EE", pin=PIN, now=now, key_type=KeyType.EC_P256)
    try:
        token, chain = _gateway(stranger, tmp_path, "gw9", now)
        with httpx.Client(verify=client_context(token, "auth", chain), trust_env=False) as client:
            with pytest.raises(httpx.HTTPError):
                client.get(server)
    finally:
        stranger.close()


def test_context_errors(gateways: dict[str, Any], ca: CertificateAuthority) -> None:
    token, chain = gateways["server"]
    with pytest.raises(TlsError, match="approved CA"):
        server_context(token, "auth", chain, client_cas=[])
    with pytest.raises(TlsError, match="does not match"):
        client_context(token, "auth", [ca.ocsp_cert])
    with pytest.raises(TlsError):
        client_context(token, "auth", [])
    context = server_context(token, "auth", chain, client_cas=[ca.root_cert])
    assert context.verify_mode is ssl.CERT_REQUIRED and context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert not client_context(token, "auth", chain).check_hostname
