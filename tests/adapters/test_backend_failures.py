"""A backend that is down, slow, or answers garbage gives the caller a specific fault; the adapter keeps serving.

Also here: SOAP 1.2 backends, retries of idempotent reads only, the X-Road context in
XSLT parameters, signatures that a backend puts on its answers, and signatures the
adapter requires on incoming payloads.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import yaml
from lxml import etree

from adapters.definition import load_definition
from adapters.http_app import create_app
from adapters.provider import SigningMaterial
from adapters.serving import WsgiServer
from adapters.xmldsig import PayloadSigner

from tests.adapters.adapter_pki import VERIFY_AT, Pki
from tests.adapters.legacy_backends import NS as LEGACY_NS
from tests.adapters.legacy_backends import LegacyBackend
from tests.adapters.xroad_messages import SOAP, body_payload, fault_code, xroad_request

TNS = "urn:test:adapter"
SERVICE = "EE/GOV/70000003/legacy/{op}/v1"

REQUEST_XSL = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:t="urn:test:adapter" xmlns:l="urn:test:legacy" exclude-result-prefixes="t">
  <xsl:param name="userId"/><xsl:param name="client"/><xsl:param name="issue"/>
  <xsl:template match="/*">
    <l:request><l:text><xsl:value-of select="concat(t:text, '|', $userId, '|', $client, '|', $issue)"/></l:text></l:request>
  </xsl:template>
</xsl:stylesheet>
"""

def _response_xsl(op: str) -> str:
    return f"""<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:t="urn:test:adapter" xmlns:l="urn:test:legacy" exclude-result-prefixes="l">
  <xsl:template match="/l:answer">
    <t:{op}Response><t:text><xsl:value-of select=".//l:text"/></t:text></t:{op}Response>
  </xsl:template>
</xsl:stylesheet>
"""


OPS = ["ping12", "garbage", "wrongshape", "slow", "down", "fault", "flaky", "flakyWrite", "signed", "badsigned",
       "submit", "plain"]


def _definition(tmp: Path, backend_url: str, down_url: str, pki: Pki) -> Path:
    (tmp / "request.xsl").write_text(REQUEST_XSL)
    for op in OPS:
        (tmp / f"{op}-response.xsl").write_text(_response_xsl(op))
    trusted = {"trusted_cas": [str(pki.root_pem)], "element": "record"}
    backends: dict[str, dict[str, Any]] = {
        "ok12": {"kind": "soap12", "url": f"{backend_url}/ok12"},
        "garbage": {"kind": "soap11", "url": f"{backend_url}/garbage"},
        "wrongshape": {"kind": "soap11", "url": f"{backend_url}/wrongshape"},
        "slow": {"kind": "soap11", "url": f"{backend_url}/slow", "timeout": 0.5},
        "down": {"kind": "soap11", "url": down_url, "connect_timeout": 0.5},
        "fault": {"kind": "soap11", "url": f"{backend_url}/fault"},
        "flaky": {"kind": "soap11", "url": f"{backend_url}/flaky", "retries": 2},
        "signed": {"kind": "soap11", "url": f"{backend_url}/signed", "verify_signature": trusted},
        "badsigned": {"kind": "soap11", "url": f"{backend_url}/badsigned", "verify_signature": trusted},
        "accept": {"kind": "soap11", "url": f"{backend_url}/accept"},
    }
    op_backend = {"ping12": "ok12", "flakyWrite": "flaky", "submit": "accept", "plain": "accept"}
    operations = []
    for op in OPS:
        spec: dict[str, Any] = {
            "name": op,
            "backend": op_backend.get(op, op),
            "request": {"fields": [{"name": "text"}], "xslt": "request.xsl"},
            "response": {"fields": [{"name": "text"}], "xslt": f"{op}-response.xsl"},
        }
        if op == "flakyWrite":
            spec["idempotent"] = False
        if op in ("garbage", "down"):
            spec["rest"] = {"path": f"/{op}", "method": "GET"}
        if op == "plain":  # no stylesheets: the default mapping renames namespace and wrapper
            spec.update(backend_namespace=LEGACY_NS, backend_operation="legacyOperation",
                        request={"fields": [{"name": "text"}]}, response={"fields": [{"name": "text"}]},
                        rest={"path": "/plain", "method": "POST"})
        if op == "submit":
            spec["request"] = {"fields": [{"name": "document", "fields": [{"name": "text"}]}]}
            spec["require_signature"] = {"trusted_cas": [str(pki.root_pem)]}
        operations.append(spec)
    document = {"adapter": {"name": "legacy", "namespace": TNS}, "backends": backends, "operations": operations}
    path = tmp / "legacy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _free_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def legacy(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LegacyBackend]]:
    backend_signer = PayloadSigner(pki.token, pki.ec_key_id, pki.ec_chain)
    backend = LegacyBackend(sign=backend_signer.sign)
    tmp = tmp_path_factory.mktemp("legacy")
    with WsgiServer(backend, threads=12) as backend_server:
        path = _definition(tmp, backend_server.url, f"http://127.0.0.1:{_free_closed_port()}/", pki)
        definition = load_definition(path)
        app = create_app(definition, signing=SigningMaterial(pki.token, pki.rsa_key_id, pki.rsa_chain),
                         clock=lambda: VERIFY_AT)
        try:
            with WsgiServer(app, threads=8) as adapter_server:
                yield adapter_server.url, backend
        finally:
            app.extensions["sild.adapter"].close()


def _text_body(op: str, text: str) -> etree._Element:
    el = etree.Element(f"{{{TNS}}}{op}", nsmap={"t": TNS})
    etree.SubElement(el, f"{{{TNS}}}text").text = text
    return el


def _call(url: str, op: str, body: etree._Element | None = None, **kw: Any) -> tuple[int, etree._Element]:
    data = xroad_request(SERVICE.format(op=op), body if body is not None else _text_body(op, "hello"), **kw)
    response = httpx.post(f"{url}/soap", content=data, headers={"Content-Type": "text/xml"}, timeout=30)
    return response.status_code, etree.fromstring(response.content)


def _assert_still_serving(url: str) -> None:
    status, envelope = _call(url, "ping12")
    assert status == 200, etree.tostring(envelope)
    assert body_payload(envelope).findtext(f"{{{TNS}}}text", "").startswith("echo:hello|")


def test_soap12_backend_and_xroad_context_reach_the_mapping(legacy: tuple[str, LegacyBackend]) -> None:
    url, _ = legacy
    status, envelope = _call(url, "ping12", user_id="EE38001085718", issue="case-9")
    assert status == 200
    assert body_payload(envelope).findtext(f"{{{TNS}}}text") == "echo:hello|EE38001085718|FI/GOV/0245437-2/vero|case-9"


@pytest.mark.parametrize(
    ("op", "code"),
    [
        ("garbage", "server.adapter.backend_malformed_response"),
        ("wrongshape", "server.adapter.backend_malformed_response"),
        ("slow", "server.adapter.backend_timeout"),
        ("down", "server.adapter.backend_unreachable"),
        ("fault", "server.adapter.backend_fault"),
        ("badsigned", "server.adapter.backend_signature_invalid"),
    ],
    ids=["malformed", "wrong-shape", "timeout", "down", "backend-fault", "bad-backend-signature"],
)
def test_backend_failures_give_specific_faults_and_the_adapter_keeps_serving(
    legacy: tuple[str, LegacyBackend], op: str, code: str
) -> None:
    url, _ = legacy
    status, envelope = _call(url, op)
    assert status == 500
    assert fault_code(envelope) == code
    text = etree.tostring(envelope).decode()
    for leak in ("10.1.2.3", "java.lang", "db01", "Traceback", "127.0.0.1"):
        assert leak not in text
    # the request's headers still come back, so the consumer's gateway can match the fault
    assert envelope.find(f"{{{SOAP}}}Header") is not None
    _assert_still_serving(url)
    rest_like = httpx.get(f"{url}/health").json()
    assert rest_like["status"] == "ok"


def test_idempotent_reads_are_retried_a_bounded_number_of_times(legacy: tuple[str, LegacyBackend]) -> None:
    url, backend = legacy
    before = backend.count("/flaky")
    backend.flaky_failures = before + 2  # the next two calls fail with 503
    status, envelope = _call(url, "flaky")
    assert status == 200 and backend.count("/flaky") == before + 3

    before = backend.count("/flaky")
    backend.flaky_failures = before + 10
    status, envelope = _call(url, "flaky")
    assert fault_code(envelope) == "server.adapter.backend_http_error"
    assert backend.count("/flaky") == before + 3  # 1 + retries, no more


def test_writes_are_never_retried(legacy: tuple[str, LegacyBackend]) -> None:
    url, backend = legacy
    before = backend.count("/flaky")
    backend.flaky_failures = before + 1
    status, envelope = _call(url, "flakyWrite")
    assert fault_code(envelope) == "server.adapter.backend_http_error"
    assert backend.count("/flaky") == before + 1


def test_backend_signature_is_verified_and_stripped(legacy: tuple[str, LegacyBackend]) -> None:
    url, _ = legacy
    status, envelope = _call(url, "signed")
    assert status == 200, etree.tostring(envelope)
    assert body_payload(envelope).findtext(f"{{{TNS}}}text") == "signed by the backend"


def test_incoming_payload_signature_is_required_and_verified(legacy: tuple[str, LegacyBackend], pki: Pki) -> None:
    url, backend = legacy

    def submit(sign: bool, tamper: bool = False) -> tuple[int, etree._Element]:
        wrapper = etree.Element(f"{{{TNS}}}submit", nsmap={"t": TNS})
        document = etree.SubElement(wrapper, f"{{{TNS}}}document")
        etree.SubElement(document, f"{{{TNS}}}text").text = "application 17"
        if sign:
            PayloadSigner(pki.token, pki.rsa_key_id, pki.rsa_chain).sign(document)
        if tamper:
            document.find(f"{{{TNS}}}text").text = "application 18"  # type: ignore[union-attr]
        return _call(url, "submit", body=wrapper)

    assert fault_code(submit(sign=False)[1]) == "client.adapter.signature_missing"
    assert fault_code(submit(sign=True, tamper=True)[1]) == "client.adapter.signature_invalid"
    status, envelope = submit(sign=True)
    assert status == 200, etree.tostring(envelope)
    assert body_payload(envelope).findtext(f"{{{TNS}}}text") == "accepted:submit"
    assert b"Signature" not in backend.last_body  # the backend gets the data without the proof
    assert LEGACY_NS  # the legacy namespace is what the backend speaks


def test_document_literal_backend_needs_no_stylesheet(legacy: tuple[str, LegacyBackend]) -> None:
    url, backend = legacy
    status, envelope = _call(url, "plain")
    assert status == 200, etree.tostring(envelope)
    payload = body_payload(envelope)
    assert payload.tag == f"{{{TNS}}}plainResponse"
    assert payload.findtext(f"{{{TNS}}}text") == "accepted:legacyOperation"
    sent = etree.fromstring(backend.last_body)
    assert sent.find(f".//{{{LEGACY_NS}}}legacyOperation/{{{LEGACY_NS}}}text") is not None


def test_rest_post_with_json_body(legacy: tuple[str, LegacyBackend]) -> None:
    url, _ = legacy
    response = httpx.post(f"{url}/rest/plain", json={"text": "hi"}, headers={"X-Road-Client": "EE/GOV/1/a"})
    assert response.status_code == 200 and response.json() == {"text": "accepted:legacyOperation"}
    for bad in ({"text": "hi", "extra": 1}, {}, ["text"]):
        response = httpx.post(f"{url}/rest/plain", json=bad)
        assert response.status_code == 400, bad
        assert response.headers["X-Road-Error"] == "client.adapter.invalid_request"
    assert httpx.get(f"{url}/rest/plain").status_code == 405
    openapi = httpx.get(f"{url}/openapi.json").json()
    assert openapi["paths"]["/plain"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/plainRequest"}


@pytest.mark.parametrize(("op", "code"), [("garbage", "server.adapter.backend_malformed_response"),
                                          ("down", "server.adapter.backend_unreachable")])
def test_backend_failures_on_the_rest_face(legacy: tuple[str, LegacyBackend], op: str, code: str) -> None:
    url, _ = legacy
    response = httpx.get(f"{url}/rest/{op}", params={"text": "x"})
    assert response.status_code == 500
    assert response.headers["X-Road-Error"] == code
    body = response.json()
    assert body["type"] == code and body["detail"] and "10.1.2.3" not in response.text
    _assert_still_serving(url)
