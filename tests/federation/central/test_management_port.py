"""The authority's management API on a port of its own: HTTPS with a generated certificate, keys off the plain port."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from federation.central._node import CentralNode, NodeConfig
from federation.central.registry import CentralDir, init_central
from trust.pki import pinned_client_context

from tests.federation.central.central_support import PIN, wait_for


def test_the_management_port_speaks_https_and_the_main_port_keeps_no_keys(tmp_path: Path) -> None:
    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url="http://cs.ee.example:4001", pin=PIN,
                 now=dt.datetime.now(dt.timezone.utc))
    home = CentralDir(directory)
    key = home.registry().create_api_key("admin", ["system-admin"])
    node = CentralNode(NodeConfig(directory=directory, port=0, pin=PIN, check_interval=0.2, api_port=0))
    node.start()
    thread = threading.Thread(target=node.serve_forever, daemon=True)
    thread.start()
    try:
        assert node.api_url is not None and node.api_url.startswith("https://127.0.0.1:")
        pinned = pinned_client_context(directory / "api-tls" / "api.crt")
        cert = x509.load_pem_x509_certificate((directory / "api-tls" / "api.crt").read_bytes())
        names = {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}
        assert {"localhost", "127.0.0.1", "cs.ee.example"} <= names  # the authority URL's host too
        assert oct((directory / "api-tls" / "api.key").stat().st_mode & 0o777) == "0o600"
        with httpx.Client(verify=pinned, trust_env=False, timeout=10, headers={"X-API-Key": key}) as api:
            before = api.get(node.api_url + "/api/v1/diagnostics").json()
            assert before["health"]["code"] == "ok"
            added = api.post(node.api_url + "/api/v1/members", json={"id": "EE/GOV/70000001", "name": "Tax"})
            assert added.status_code == 201, added.text

            def published() -> bool:
                report = api.get(node.api_url + "/api/v1/diagnostics").json()
                return bool(report["published"]["serial"] == before["registry"]["serial"] + 1)

            wait_for(published, what="regeneration after a change on the management port")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(node.api_url + "/api/v1/status", trust_env=False, timeout=10)  # the system's CAs do not vouch
        plain = f"http://127.0.0.1:{node.port}"
        refused = httpx.get(plain + "/api/v1/members", headers={"X-API-Key": key}, trust_env=False, timeout=10)
        assert (refused.status_code, refused.json()["code"]) == (404, "api.management_elsewhere")
        assert httpx.get(plain + "/internalconf?version=6", trust_env=False, timeout=10).status_code == 200
        request = httpx.post(plain + "/api/v1/registration-requests", content=b"{}", trust_env=False, timeout=10,
                             headers={"Content-Type": "application/json"})
        assert request.status_code == 400 and request.json()["code"] != "api.management_elsewhere"  # gateways' door
        audit = httpx.get(node.api_url + "/api/v1/audit", headers={"X-API-Key": key}, verify=pinned, trust_env=False,
                          timeout=10).json()["entries"]  # the HTTPS call is on record, the keyless door's is not
        assert [(e["operation"], e["actor"], e["source"], e["outcome"]) for e in audit] == [
            ("POST /api/v1/members", "admin", "127.0.0.1", "ok")]
    finally:
        node.stop()
        thread.join(timeout=10)
        home.close()
    assert not thread.is_alive()


def test_the_operators_certificate_needs_the_port_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="api_tls_cert needs api_port"):
        NodeConfig(directory=tmp_path, pin=PIN, api_tls_cert=tmp_path / "c.pem", api_tls_key=tmp_path / "k.pem")
