"""Backends over TLS: the adapter verifies the server against a configured CA and presents a client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml
from cheroot.ssl.builtin import BuiltinSSLAdapter
from lxml import etree

from adapters.definition import load_definition
from adapters.http_app import create_app
from adapters.serving import WsgiServer

from tests.adapters.legacy_backends import LegacyBackend
from tests.adapters.tls_certs import make_ca, make_leaf
from tests.adapters.xroad_messages import body_payload, fault_code, xroad_request

TNS = "urn:test:tls"

RESPONSE_XSL = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:t="urn:test:tls" xmlns:l="urn:test:legacy" exclude-result-prefixes="l">
  <xsl:template match="/l:answer"><t:readResponse><t:text><xsl:value-of select="l:text"/></t:text></t:readResponse>
  </xsl:template>
</xsl:stylesheet>
"""


@pytest.fixture(scope="module")
def tls_adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("tls")
    backend_ca = make_ca(tmp, "backend-ca")
    client_ca = make_ca(tmp, "client-ca")
    make_ca(tmp, "other-ca")
    make_leaf(tmp, "backend", backend_ca, server=True)
    make_leaf(tmp, "adapter-client", client_ca, server=False)
    ssl_adapter = BuiltinSSLAdapter(str(tmp / "backend.pem"), str(tmp / "backend.key"))
    ssl_adapter.context.verify_mode = ssl.CERT_REQUIRED
    ssl_adapter.context.load_verify_locations(str(tmp / "client-ca.pem"))
    (tmp / "response.xsl").write_text(RESPONSE_XSL)
    with WsgiServer(LegacyBackend(), ssl_adapter=ssl_adapter) as backend:
        url = f"{backend.url}/accept"
        client = {"client_cert": "adapter-client.pem", "client_key": "adapter-client.key",
                  "client_key_password_env": "SILD_TEST_BACKEND_KEY_PASS"}
        backends = {
            "mutual": {"kind": "soap11", "url": url, "tls": {"ca": "backend-ca.pem", **client}},
            "no-client-cert": {"kind": "soap11", "url": url, "tls": {"ca": "backend-ca.pem"}},
            "wrong-ca": {"kind": "soap11", "url": url, "tls": {"ca": "other-ca.pem", **client}},
            "system-ca": {"kind": "soap11", "url": url},
        }
        operations = [
            {"name": "read" if name == "mutual" else f"read{i}", "backend": name,
             "request": {"fields": [{"name": "text"}]},
             "response": {"fields": [{"name": "text"}], "xslt": "response.xsl"}}
            for i, name in enumerate(backends)
        ]
        (tmp / "tls.yaml").write_text(yaml.safe_dump(
            {"adapter": {"name": "tls", "namespace": TNS}, "backends": backends, "operations": operations}))
        mp = pytest.MonkeyPatch()
        mp.setenv("SILD_TEST_BACKEND_KEY_PASS", "client-key-pass")
        try:
            definition = load_definition(tmp / "tls.yaml")
            app = create_app(definition)
        finally:
            mp.undo()
        try:
            with WsgiServer(app) as server:
                yield server.url
        finally:
            app.extensions["sild.adapter"].close()


def _call(url: str, op: str) -> tuple[int, etree._Element]:
    body = etree.Element(f"{{{TNS}}}{op}")
    etree.SubElement(body, f"{{{TNS}}}text").text = "x"
    response = httpx.post(f"{url}/soap", content=xroad_request(f"EE/GOV/70000003/tls/{op}/v1", body))
    return response.status_code, etree.fromstring(response.content)


def test_mutual_tls_backend_is_reached(tls_adapter: str) -> None:
    status, envelope = _call(tls_adapter, "read")
    assert status == 200, etree.tostring(envelope)
    assert body_payload(envelope).findtext(f"{{{TNS}}}text") == "accepted:read"


@pytest.mark.parametrize("op", ["read1", "read2", "read3"], ids=["no-client-cert", "untrusted-server", "system-store"])
def test_tls_failures_are_specific_faults(tls_adapter: str, op: str) -> None:
    status, envelope = _call(tls_adapter, op)
    assert status == 500
    assert fault_code(envelope) == "server.adapter.backend_tls_failed"
    assert _call(tls_adapter, "read")[0] == 200  # still serving
