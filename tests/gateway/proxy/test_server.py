"""The server proxy refuses what a peer must not get away with, in X-Road's order and codes."""

from __future__ import annotations

import hashlib
import ssl
import uuid

import pytest
from lxml import etree

from gateway.signing import SignedParts
from gateway.net._peer_transport import parse_ocsp_multipart
from trust.protocol import build_request
from trust.protocol import SoapContent, encode
from trust.protocol import ServiceId, parse_server

from tests.gateway._world import BANK, TAX, VERO

VERO_SVC = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")


def _send(world, source, client, *, sign_as=None, tamper=False, drop_signature=False, security_server=None,
          service=VERO_SVC):
    """Send a hand-made transport message from gateway ``source`` to FI vero's gateway."""
    src = world.gateways[source]
    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    msg = build_request(client=client, service=service, query_id=str(uuid.uuid4()), body=body,
                        security_server=security_server)
    sig = src.signing.sign(SignedParts((("text/xml", msg),)), member=(sign_as or client).member)
    if tamper:
        msg = msg.replace(b"010190-123M", b"010190-999X")
    ctype, chunks = encode(SoapContent(msg, "text/xml; charset=utf-8"), signature=None if drop_signature else sig,
                           ocsp_responses=src.own_ocsp.responses())
    data = b"".join(chunks)
    dst = world.gateway_of(VERO)
    port = world.ports["FI/GOV/0245437-2/gw1"]
    src.transport.allow("127.0.0.1", port, [hashlib.sha256(ssl.PEM_cert_to_DER_cert(
        (dst.directory / "certs" / "auth.pem").read_text())).digest()])
    resp = src.transport.post(f"https://127.0.0.1:{port}/", headers={"Content-Type": ctype}, content=data)
    return resp


def _code(resp):
    assert resp.headers["content-type"].startswith("text/xml")
    return etree.fromstring(resp.content).findtext(".//faultcode")


def test_a_good_message_passes(world):
    resp = _send(world, "EE/GOV/70000001/gw1", TAX)
    assert resp.status == 200 and resp.headers["content-type"].startswith("multipart/mixed")


def test_wrong_security_server_header(world):
    resp = _send(world, "EE/GOV/70000001/gw1", TAX, security_server=parse_server("FI/GOV/0245437-2/other"))
    assert _code(resp) == "server.serverproxy.invalid_security_server"


def test_peer_certificate_not_registered_for_the_client(world):
    # the bank's gateway presents its own (valid) auth certificate but claims to speak for the tax board
    resp = _send(world, "EE/GOV/70000002/gw1", TAX, sign_as=BANK)
    assert _code(resp) == "server.serverproxy.ssl_authentication_failed"


def test_missing_and_broken_signatures(world):
    assert _code(_send(world, "EE/GOV/70000001/gw1", TAX, drop_signature=True)) == \
        "server.serverproxy.missing_signature"
    assert _code(_send(world, "EE/GOV/70000001/gw1", TAX, tamper=True)) == \
        "server.serverproxy.invalid_signature_value"


def test_signer_must_be_the_client_member(world):
    # the bank's gateway also holds the population register's key: a request from the bank signed by it
    resp = _send(world, "EE/GOV/70000002/gw1", BANK, sign_as=world.gateways["EE/GOV/70000002/gw1"].server_id)
    assert _code(resp) == "server.serverproxy.incorrect_certificate"


def test_unknown_provider_is_unknown_member(world):
    svc = ServiceId("FI", "GOV", "0242431-1", "dvv", "getTaxRecord", "v1")
    assert _code(_send(world, "EE/GOV/70000001/gw1", TAX, service=svc)) == "server.serverproxy.unknown_member"


def test_ocsp_responses_served_on_the_peer_port(world):
    src = world.gateways["EE/GOV/70000001/gw1"]
    dst = world.gateway_of(VERO)
    cert = ssl.PEM_cert_to_DER_cert((dst.directory / "certs" / "auth.pem").read_text())
    port = world.ports["FI/GOV/0245437-2/gw1"]
    ok = src.transport.request("GET", f"https://127.0.0.1:{port}/?cert={hashlib.sha1(cert).hexdigest()}"
                                      f"&cert_hash={hashlib.sha256(cert).hexdigest()}")
    assert ok.status == 200
    responses = parse_ocsp_multipart(ok.headers["content-type"], ok.content)
    assert responses == dst.own_ocsp.responses()
    missing = src.transport.request("GET", f"https://127.0.0.1:{port}/?cert={'0' * 40}")
    assert missing.status == 404
    bad = src.transport.request("GET", f"https://127.0.0.1:{port}/?cert=xyz")
    assert bad.status == 400
