"""``sild adapter``: serve (a real process), check, wsdl, openapi; one-line errors."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from lxml import etree

from adapters.sandbox_backends import definition_text

from tests.adapters.adapter_pki import PIN, Pki
from tests.adapters.tls_certs import make_ca, make_leaf
from tests.adapters.xroad_messages import POPULATION_NS, POPULATION_SERVICE, body_payload, get_person, xroad_request

PACKAGE = Path(__file__).resolve().parents[2] / "adapters" / "sandbox_backends"
PROJECT = Path(__file__).resolve().parents[2]


def _sild(*args: str) -> Any:
    """``sild`` with only the adapter group: the real error formatting, independent of other packages' CLIs."""
    import click

    from adapters.cli import adapter_group
    from gateway.cli._main import _SildGroup

    @click.group(cls=_SildGroup)
    def sild() -> None:
        pass

    sild.add_command(adapter_group)
    return CliRunner().invoke(sild, list(args))


def _population_yaml(tmp: Path, backend_url: str, pki: Pki | None = None) -> Path:
    text = definition_text("population", backend_url)
    for name in ("population-request.xsl", "population-response.xsl"):
        text = text.replace(f"xslt: {name}", f"xslt: {PACKAGE / name}")
    if pki is not None:
        chain = tmp / "chain.pem"
        chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in pki.rsa_chain))
        text += (f"\nsigning:\n  key_id: {pki.rsa_key_id}\n  certificate: {chain}\n"
                 f"  token:\n    directory: {pki.token.directory}\n    pin_env: SILD_TEST_TOKEN_PIN\n")
    path = tmp / "population.yaml"
    path.write_text(text)
    return path


def test_wsdl_and_openapi_commands(tmp_path: Path, sandbox: Any) -> None:
    path = _population_yaml(tmp_path, sandbox.backend_urls["population"])
    result = _sild("adapter", "wsdl", str(path), "--base-url", "https://adapter.example:8443")
    assert result.exit_code == 0, result.output
    wsdl = etree.fromstring(result.output.encode())
    imports = [el.get("schemaLocation") for el in wsdl.iter("{http://www.w3.org/2001/XMLSchema}import")]
    assert imports == ["https://adapter.example:8443/xsd/xroad.xsd"]
    result = _sild("adapter", "openapi", str(path))
    assert result.exit_code == 0 and '"/persons/{personCode}"' in result.output


def test_check_validates_and_pings_backends(tmp_path: Path, sandbox: Any) -> None:
    good = _population_yaml(tmp_path, sandbox.backend_urls["population"])
    result = _sild("adapter", "check", str(good))
    assert result.exit_code == 0, result.output
    assert "backend rahvastikuregister (soap11-rpc): reachable" in result.output

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = tmp_path / "down"
    down.mkdir()
    result = _sild("adapter", "check", str(_population_yaml(down, f"http://127.0.0.1:{closed}/")))
    assert result.exit_code == 1
    assert "server.adapter.backend_unreachable" in result.output


def test_invalid_definition_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("adapter:\n  name: x\n  namespace: urn:x\nbackends:\n  b: {kind: telex, url: http://x}\n"
                    "operations: []\n")
    result = _sild("adapter", "check", str(path))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "sild: error: broken.yaml line 5: backends.b.kind: 'telex' is not one of soap11, soap11-rpc, soap12, xml "
        "[adapters.definition.invalid]"
    ]


def test_serve_runs_the_adapter_as_a_process_over_mutual_tls(tmp_path: Path, sandbox: Any, pki: Pki) -> None:
    path = _population_yaml(tmp_path, sandbox.backend_urls["population"], pki)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SILD_TEST_TOKEN_PIN": PIN, "PYTHONPATH": str(PROJECT)}
    # HTTPS towards the gateway, which must present a client certificate of the gateway CA
    server_ca = make_ca(tmp_path, "adapter-ca")
    gateway_ca = make_ca(tmp_path, "gateway-ca")
    make_leaf(tmp_path, "adapter", server_ca, server=True)
    make_leaf(tmp_path, "gateway", gateway_ca, server=False)
    process = subprocess.Popen(
        [sys.executable, "-c", "from adapters.cli import adapter_group; adapter_group()", "serve", str(path),
         "--host", "127.0.0.1", "--port", str(port), "--tls-cert", str(tmp_path / "adapter.pem"),
         "--tls-key", str(tmp_path / "adapter.key"), "--tls-client-ca", str(tmp_path / "gateway-ca.pem")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    context = ssl.create_default_context(cafile=str(tmp_path / "adapter-ca.pem"))
    context.load_cert_chain(str(tmp_path / "gateway.pem"), str(tmp_path / "gateway.key"), password="client-key-pass")
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1, verify=context).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"adapter did not start: {process.communicate(timeout=5)[1].decode()[-2000:]}")
            time.sleep(0.1)
        response = httpx.post(f"{url}/soap", content=xroad_request(POPULATION_SERVICE, get_person("39001011237")),
                              verify=context)
        assert response.status_code == 200
        anonymous = ssl.create_default_context(cafile=str(tmp_path / "adapter-ca.pem"))
        with pytest.raises(httpx.HTTPError):  # no client certificate: refused
            httpx.get(f"{url}/health", verify=anonymous)
        person = body_payload(etree.fromstring(response.content)).find(f"{{{POPULATION_NS}}}person")
        assert person is not None and person.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_sandbox_workdir_definitions_are_standalone(sandbox: Any) -> None:
    """The definitions start_all writes validate on their own (absolute stylesheets, signing section)."""
    from adapters.definition import load_definition

    root = Path(sandbox.workdir)
    population = load_definition(root / "population.yaml")
    assert population.signing is not None and population.signing.token_directory is not None
    assert load_definition(root / "vero.yaml").operations[0].name == "getTaxRecord"
    result = _sild("adapter", "check", str(root / "vero.yaml"))
    assert result.exit_code == 0, result.output
