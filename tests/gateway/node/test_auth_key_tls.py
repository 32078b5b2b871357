"""A renewed auth key is served in the running node's mutual TLS (issue 17, "Tokens and keys").

The key registry's newest active auth key signs registration requests; before, the node's
TLS kept loading the init-time ``auth`` key and ``certs/auth.pem``, so the certificate the
authority registered after a renewal was never the one peers saw. Here a running gateway
renews its auth key, gets it certified, imports and activates it; the next live check puts
it into both TLS contexts and the own OCSP store, without a restart: a raw handshake gets
the new certificate, and a real exchange with a peer that knows only the new certificate's
registration succeeds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.net import client_ssl_context
from gateway.node._status import own_certificates
from gateway.provision import renew_key
from trust.keys import KeyState
from trust.pki import cert_der
from trust.protocol import parse_server

from tests.gateway._world import PIN, TAX, World, build_world

SERVER = "EE/GOV/70000001/gw1"
PEER = "FI/GOV/0245437-2/gw1"


@pytest.fixture(scope="module")
def own_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world of its own: the renewal changes a gateway's registration."""
    w = build_world(tmp_path_factory.mktemp("authkey"), dt.datetime.now(dt.timezone.utc))
    yield w
    w.close()


def _served(port: int, client: tuple[str, str, str]) -> bytes:
    """The DER certificate the mutual-TLS port serves in a handshake."""
    ctx = client_ssl_context(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _register_only(world: World, server: str, cert_der_: bytes) -> None:
    """The authority's configuration now names only ``cert_der_`` as ``server``'s auth certificate."""
    sid = parse_server(server)
    shared = world.shared[sid.instance]
    servers = tuple(dataclasses.replace(s, auth_cert_hashes=(hashlib.sha256(cert_der_).digest(),))
                    if (s.owner, s.server_code) == (sid.owner, sid.server_code) else s
                    for s in shared.security_servers)
    world.shared[sid.instance] = dataclasses.replace(shared, security_servers=servers)


def _income(node: object) -> httpx.Response:
    return httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",  # type: ignore[attr-defined]
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)


def test_a_renewed_auth_key_is_served_in_tls_without_a_restart(own_world: World, monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    node, peer = own_world.gateways[SERVER], own_world.gateways[PEER]
    port = own_world.ports[SERVER]
    old = cert_der(node.auth_chain[0])
    assert _served(port, peer._key) == old and node.auth_key_id == "auth"
    assert _income(node).status_code == 200

    registry = node.keys
    renewed, csr = renew_key(node.directory, registry, "auth")
    issued = own_world.cas["EE"].issue_auth(parse_server(SERVER), now=dt.datetime.now(dt.timezone.utc),
                                           csr=csr.read_bytes())
    registry.import_certificate(issued.cert.public_bytes(serialization.Encoding.PEM))
    registry.set_key_state(renewed.key_id, KeyState.ACTIVE)
    new = cert_der(issued.cert)
    assert new != old

    node._is_worker = True  # a worker process: it waits for the response the main process fetches
    assert "keys" in node.follow_changes()
    assert node.auth_key_id == "auth" and _served(port, peer._key) == old, "no OCSP response yet: the old key stays"
    node._is_worker = False
    node.refresh_ocsp()  # the main process's OCSP job: a certificate without a response is due
    node.follow_changes()  # the running node's next live check, no restart
    assert node.auth_key_id == renewed.key_id
    assert _served(port, peer._key) == new
    assert node.own_ocsp.for_key(renewed.key_id), "the new auth certificate's OCSP response is fetched at once"
    assert set(node._own_certs) >= {renewed.key_id} and "auth" not in node._own_certs
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    assert cert_der(own_certificates(Path(node.directory))[renewed.key_id]) == new  # status shows the served one

    _register_only(own_world, SERVER, new)  # the peer knows only the new certificate now
    answer = _income(node)
    assert answer.status_code == 200, answer.text  # our client side presents the new certificate

    registry.set_key_state(renewed.key_id, KeyState.DISABLED)  # disabled: the node goes back to the old key
    node.follow_changes()
    assert node.auth_key_id == "auth" and _served(port, peer._key) == old
