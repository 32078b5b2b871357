"""Message-body logging through two real gateways: a provider subsystem switched to headers only."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
import pytest
from click.testing import CliRunner
from lxml import etree

from gateway.cli._main import _register, cli
from gateway.messagelog import export_exchange
from trust.errors import SildError
from trust.evidence import verify_container
from trust.protocol import ServiceId, build_request

from tests.gateway._world import TAX, VERO

VERO_NS = "http://vero.sandbox.sild.eu/producer"
SERVICE = ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1")


def _call(world) -> str:
    body = etree.Element(f"{{{VERO_NS}}}getTaxRecord")
    etree.SubElement(body, f"{{{VERO_NS}}}personCode").text = "010190-123M"
    query_id = str(uuid.uuid4())
    msg = build_request(client=TAX, service=SERVICE, query_id=query_id, body=body, user_id="EE12345678901")
    resp = httpx.post(world.gateway_of(TAX).is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return query_id


def _set(node, logged: bool | None) -> None:
    """Change VERO's override in its gateway's configuration and wait for the node's snapshot to show it."""
    node.serverconf.set_body_logging(VERO, logged)
    deadline = time.monotonic() + 10
    while node.serverconf.snapshot().client(VERO).body_logging is not logged:
        assert time.monotonic() < deadline, "the node never saw the change"
        time.sleep(0.05)


def test_a_subsystem_logged_without_bodies(world, tmp_path) -> None:
    vero_gw, tax_gw = world.gateway_of(VERO), world.gateway_of(TAX)
    _set(vero_gw, False)
    try:
        query_id = _call(world)
    finally:
        _set(vero_gw, None)
    served = {r.direction: r for r in vero_gw.messagelog.find(query_id, side="server")}
    assert not served["request"].body_logged and not served["response"].body_logged
    assert b"010190-123M" not in served["request"].message and b"<xroad:id>" + query_id.encode() in served["request"].message
    sent = {r.direction: r for r in tax_gw.messagelog.find(query_id, side="client")}
    assert sent["request"].body_logged and b"010190-123M" in sent["request"].message  # TAX's own setting: on

    now = dt.datetime.now(dt.timezone.utc)
    for node in (vero_gw, tax_gw):
        node.timestamp_now()
    policies = {inst: tax_gw.policy_for(inst, now) for inst in ("EE", "FI")}
    whole = export_exchange(tax_gw.messagelog, query_id, side="client", require_timestamp=True)
    assert verify_container(whole, policies, require_timestamp=True).identity.signer == TAX
    bare = export_exchange(vero_gw.messagelog, query_id, side="server", require_timestamp=True)
    with pytest.raises(SildError, match="digest of /message.xml does not match") as failed:
        verify_container(bare, policies, require_timestamp=True)  # as X-Road: a headers-only record is no evidence
    assert failed.value.code == "trust.signature.digest_mismatch"

    _register()
    out = CliRunner().invoke(cli, ["gateway", "log", "export", str(vero_gw.directory), "--query-id", query_id,
                                   "--out", str(tmp_path / "bare.asice")], catch_exceptions=False)
    assert out.exit_code == 0 and "was not logged" in out.output

    again = _call(world)  # back to the gateway's setting: whole again
    assert all(r.body_logged for r in vero_gw.messagelog.find(again))
