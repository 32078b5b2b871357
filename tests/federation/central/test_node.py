"""The authority node in-process: TLS on the cheroot server, scheduler, PIN check at start."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from federation.central._node import CentralNode, NodeConfig
from federation.central.registry import CentralDir
from federation.central.registry import init_central
from trust.errors import WrongPin
from trust.protocol import MemberId

from tests.federation.central.central_support import PIN, GatewayPki, wait_for


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def authority(tmp_path: Path) -> Path:
    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url="https://127.0.0.1:4443", pin=PIN, now=_now())
    return directory


def test_tls_node_serves_and_regenerates(authority: Path, tmp_path: Path) -> None:
    pki = GatewayPki(tmp_path / "pki", "EE", _now())
    try:
        issued = pki.ca.issue_auth(MemberId("EE", "GOV", "0").server("cs"), now=_now())
        cert_file, key_file = tmp_path / "tls.pem", tmp_path / "tls.key"
        cert_file.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
        key = serialization.load_pem_private_key(issued.encrypted_key_pem or b"", password=PIN.encode())
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        root_pem = pki.ca.root_cert.public_bytes(serialization.Encoding.PEM).decode()
    finally:
        pki.close()

    node = CentralNode(NodeConfig(directory=authority, port=0, pin=PIN, check_interval=0.2,
                                  tls_cert=cert_file, tls_key=key_file))
    node.start()
    thread = threading.Thread(target=node.serve_forever, daemon=True)
    thread.start()
    try:
        context = ssl.create_default_context(cadata=root_pem)
        context.check_hostname = False  # the test certificate names a gateway, not 127.0.0.1
        with httpx.Client(verify=context, trust_env=False, timeout=10) as client:
            base = f"https://127.0.0.1:{node.port}"
            assert client.get(base + "/internalconf?version=6").status_code == 200
            with pytest.raises(httpx.HTTPError):
                httpx.get(base.replace("https", "http") + "/internalconf?version=6", timeout=5)  # no plain HTTP here
            home = CentralDir(authority)
            key = home.registry().create_api_key("admin", ["system-admin"])
            before = home.registry().info().serial
            added = client.post(base + "/api/v1/members", json={"id": "EE/GOV/70000001", "name": "Tax"},
                                headers={"X-API-Key": key})
            assert added.status_code == 201
            status = lambda: client.get(base + "/api/v1/status", headers={"X-API-Key": key}).json()  # noqa: E731
            wait_for(lambda: (status()["published"] or {}).get("serial") == before + 1, what="regeneration after the change")
            home.close()
    finally:
        node.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_wrong_pin_fails_at_start(authority: Path) -> None:
    node = CentralNode(NodeConfig(directory=authority, port=0, pin="not-the-pin"))
    try:
        with pytest.raises(WrongPin):
            node.start()
    finally:
        node.stop()
