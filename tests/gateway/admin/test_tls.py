"""The admin port speaks HTTPS: a generated certificate the clients pin, or the operator's own."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from gateway.admin import admin_client_context, admin_ssl_context, admin_url, create_app, ensure_admin_tls
from gateway.admin._config import AdminConfig
from gateway.db import open_engine
from gateway.net import WsgiServer
from gateway.provision import init_gateway
from gateway.serverconf import ServerConf, create_api_key
from gateway.settings import NodeSettings, SetupError
from trust.keys import KeyType

from tests.support.pki import self_signed_tls_files

NOW = dt.datetime.now(dt.timezone.utc)
SERVER = "EE/GOV/70000001/gw1"


def _gateway(directory: Path, **settings: object) -> NodeSettings:
    return init_gateway(directory, anchor=None, server=SERVER, pin="1234", key_type=KeyType.EC_P256,
                        settings={"admin_port": 4000, "public_address": "gw1.tax.example:5500", **settings})


def _names(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}


def test_a_generated_certificate_names_the_addresses_clients_use(tmp_path: Path) -> None:
    settings = _gateway(tmp_path, admin_listen="192.0.2.44")
    cert, made = ensure_admin_tls(tmp_path, settings, now=NOW)
    assert made and cert == tmp_path / "admin-tls" / "admin.crt"
    assert {"localhost", "127.0.0.1", "::1", "192.0.2.44", "gw1.tax.example"} <= _names(cert)
    assert oct((tmp_path / "admin-tls" / "admin.key").stat().st_mode & 0o777) == "0o600"
    assert ensure_admin_tls(tmp_path, settings, now=NOW) == (cert, False)  # kept while it still fits
    moved = NodeSettings(**{**settings.__dict__, "admin_listen": "198.51.100.7"})
    _again, remade = ensure_admin_tls(tmp_path, moved, now=NOW)
    assert remade and "198.51.100.7" in _names(cert)
    wildcard = NodeSettings(**{**settings.__dict__, "admin_listen": "0.0.0.0"})
    assert admin_url(tmp_path) == "https://192.0.2.44:4000"
    wildcard.save(tmp_path)
    assert admin_url(tmp_path) == "https://127.0.0.1:4000"


def test_the_operators_certificate_is_used_and_never_replaced(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="given together"):
        _gateway(tmp_path / "half", admin_tls_cert="mine.pem")
    settings = _gateway(tmp_path / "gw", admin_tls_cert="tls/mine.pem", admin_tls_key="tls/mine.key")
    with pytest.raises(SetupError, match=r"tls/mine.pem does not exist"):
        admin_ssl_context(tmp_path / "gw", settings, now=NOW)
    assert not (tmp_path / "gw" / "admin-tls").exists()  # a typo does not become a self-signed certificate
    (tmp_path / "tls-src").mkdir()
    cert_pem, key_pem, _cert = self_signed_tls_files(tmp_path / "tls-src", stem="mine", common_name="ops admin",
                                                     not_before=NOW - dt.timedelta(hours=1),
                                                     not_after=NOW + dt.timedelta(days=90), ip="127.0.0.1")
    (tmp_path / "gw" / "tls").mkdir()
    (tmp_path / "gw" / "tls" / "mine.pem").write_bytes(Path(cert_pem).read_bytes())
    (tmp_path / "gw" / "tls" / "mine.key").write_bytes(Path(cert_pem).read_bytes())  # not a key
    with pytest.raises(SetupError, match="cannot use the admin TLS certificate"):
        admin_ssl_context(tmp_path / "gw", settings, now=NOW)
    (tmp_path / "gw" / "tls" / "mine.key").write_bytes(Path(key_pem).read_bytes())
    server = _serve(tmp_path / "gw", settings)
    try:
        answer = httpx.get(f"https://127.0.0.1:{server.port}/healthz", verify=admin_client_context(tmp_path / "gw"),
                           trust_env=False, timeout=10)
        assert answer.status_code == 200
        served = ssl.get_server_certificate(("127.0.0.1", server.port))
        assert x509.load_pem_x509_certificate(served.encode()) == \
            x509.load_pem_x509_certificate(Path(cert_pem).read_bytes())
    finally:
        server.stop()


def _serve(directory: Path, settings: NodeSettings, host: str = "127.0.0.1") -> WsgiServer:
    conf = ServerConf(open_engine(directory / "serverconf.db"), refresh_interval=0)
    return WsgiServer(create_app(AdminConfig(conf)), host, 0, name="admin-tls-test",
                      ssl_context=admin_ssl_context(directory, settings, now=NOW)).start()


def test_clients_that_pin_the_gateways_certificate_get_in_and_others_do_not(tmp_path: Path) -> None:
    settings = _gateway(tmp_path / "gw")
    ensure_admin_tls(tmp_path / "other", _gateway(tmp_path / "other"), now=NOW)
    server = _serve(tmp_path / "gw", settings)
    conf = ServerConf(open_engine(tmp_path / "gw" / "serverconf.db"), refresh_interval=0)
    _kid, secret = create_api_key(conf, ["viewer"], "tls test")
    url = f"https://127.0.0.1:{server.port}"
    try:
        pinned = httpx.get(url + "/api/v1/status", headers={"Authorization": f"Bearer {secret}"},
                           verify=admin_client_context(tmp_path / "gw"), trust_env=False, timeout=10)
        assert pinned.status_code == 200 and pinned.json()["configuration_version"] >= 0
        for verify in (True, admin_client_context(tmp_path / "other")):  # the system CAs, another gateway's
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                httpx.get(url + "/healthz", verify=verify, trust_env=False, timeout=10)
        with pytest.raises(httpx.HTTPError):  # no plain-HTTP answer: the key would cross in clear text
            plain = httpx.get(f"http://127.0.0.1:{server.port}/healthz", trust_env=False, timeout=10)
            assert plain.status_code != 200
            raise httpx.HTTPError("answered, but not with the API")
        curl = subprocess.run(["curl", "-sS", "--cacert", str(tmp_path / "gw" / "admin-tls" / "admin.crt"),
                               url + "/healthz"], capture_output=True, text=True, timeout=30)
        assert curl.returncode == 0 and '"status":"ok"' in curl.stdout.replace(" ", ""), curl.stderr
    finally:
        server.stop()


def _external_address() -> str | None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def test_admin_listen_opens_the_port_beyond_loopback(tmp_path: Path) -> None:
    address = _external_address()
    if address is None:
        pytest.skip("this machine has no address other than loopback")
    settings = _gateway(tmp_path, admin_listen=address)
    server = _serve(tmp_path, settings, host=address)
    try:
        answer = httpx.get(f"https://{address}:{server.port}/healthz", verify=admin_client_context(tmp_path),
                           trust_env=False, timeout=10)
        assert answer.status_code == 200  # the certificate names the listen address, so the host check passes
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{server.port}/healthz", verify=admin_client_context(tmp_path),
                      trust_env=False, timeout=10)
    finally:
        server.stop()
