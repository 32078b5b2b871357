"""A gateway signs its messages with a key in a PKCS#11 token (SoftHSM2) after a key renewal.

The owner's sign key of the EE tax gateway is renewed into SoftHSM2 through the key
registry, certified by the instance CA and imported; the restarted node then signs
with the token's key (the FI gateway verifies it), and the old key is no longer used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway.node import GatewayNode
from gateway.provision import generate_key, open_registry
from trust.keys import KeyState, KeyType, KeyUsage
from trust.protocol import ServiceId, build_request, parse_soap
from trust.xades import parse_signature

from tests.gateway._world import PIN, TAX, World, build_world
from tests.support.softhsm import make_token

TAX_GW = "EE/GOV/70000001/gw1"
VERO_NS = "http://vero.sandbox.sild.eu/producer"
SERVICE = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = build_world(tmp_path / "world", dt.datetime.now(dt.timezone.utc))
    yield w
    w.close()


def _ask_vero(node: GatewayNode) -> tuple[str, httpx.Response]:
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    query_id = str(uuid.uuid4())
    msg = build_request(client=TAX, service=SERVICE, query_id=query_id, body=body, user_id="EE12345678901")
    return query_id, httpx.post(node.is_url + "/", content=msg, headers={"Content-Type": "text/xml; charset=utf-8"},
                                timeout=30)


def test_after_renewal_into_the_hsm_the_node_signs_with_the_tokens_key(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hsm = make_token(tmp_path / "hsm", monkeypatch, label="tax-gw1")
    monkeypatch.setenv("SILD_TOKEN_PIN_HSM", hsm.pin)
    old_node = world.gateways[TAX_GW]
    directory = old_node.directory
    registry = open_registry(directory, PIN)
    registry.add_pkcs11_token("hsm", hsm.library, hsm.label)
    registry.login("hsm", hsm.pin)
    key, csr = generate_key(directory, registry, token="hsm", usage=KeyUsage.SIGN, key_type=KeyType.EC_P256)
    later = world.now + dt.timedelta(minutes=1)  # the newer certificate wins over the one init made
    cert = world.cas["EE"].issue_sign(TAX.member, now=later, csr=csr.read_bytes()).cert
    registry.import_certificate(cert.public_bytes(serialization.Encoding.PEM))
    registry.logout("hsm")

    old_node.stop()
    node = GatewayNode(directory, conf_source=world.conf)
    world.gateways[TAX_GW] = node
    node.start(jobs=False)
    assert node.sign_keys[TAX.member].key_id == key.key_id
    for _ in range(3):  # the new certificate's OCSP response, as a node fetches it at start
        if not node.own_ocsp.due(world.now, 3600):
            break
        node.refresh_ocsp()

    query_id, resp = _ask_vero(node)
    assert resp.status_code == 200, resp.text
    assert parse_soap(resp.content, resp.headers["content-type"], role="response").header.client == TAX
    [request] = node.messagelog.find(query_id, direction="request")
    assert parse_signature(request.signature).certificate == cert

    registry.set_key_state(key.key_id, KeyState.DISABLED)  # a disabled key signs nothing, at once
    _, refused = _ask_vero(node)
    assert refused.status_code == 500
    assert b"<faultcode>signer.cannot_create_signature</faultcode>" in refused.content
    assert f"key '{key.key_id}' is disabled".encode() in refused.content
