"""Message-body logging (X-Road's ``message-body-logging`` and its per-subsystem overrides)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.db import open_engine
from gateway.messagelog import Attachment, BodyLogging, MessageLog, MessageLogConfig
from gateway.messagelog._bodies import headers_only
from trust.protocol import SubsystemId

from tests.gateway.messagelog.log_support import SERVICE, T0, entry

PROVIDER = SERVICE.provider
OTHER = SubsystemId("FI", "GOV", "0245437-2", "vero")

SOAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xroad="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers"
    xmlns:repr="http://x-road.eu/xsd/representation.xsd" xmlns:p="http://producer.example/">
  <SOAP-ENV:Header>
    <xroad:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE</id:xRoadInstance></xroad:client>
    <xroad:service id:objectType="SERVICE"><id:serviceCode>getPerson</id:serviceCode></xroad:service>
    <xroad:securityServer id:objectType="SERVER"><id:serverCode>ss1</id:serverCode></xroad:securityServer>
    <xroad:id>q-1</xroad:id>
    <xroad:userId>EE12345678901</xroad:userId>
    <xroad:protocolVersion>4.0</xroad:protocolVersion>
    <repr:representedParty><repr:partyCode>123</repr:partyCode></repr:representedParty>
    <p:trace>private trace</p:trace>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body><p:getPersonResponse><p:name>Mari Maasikas</p:name></p:getPersonResponse></SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""


def test_a_body_less_soap_record_keeps_the_xroad_headers_and_an_empty_body_element() -> None:
    kept = headers_only(entry(message=SOAP))
    root = etree.fromstring(kept)
    names = [etree.QName(c).localname for c in root[0]]
    assert names == ["client", "service", "id", "userId", "protocolVersion", "representedParty"]
    body = root[1]
    assert [etree.QName(c).localname for c in body] == ["getPersonResponse"] and len(body[0]) == 0
    assert b"Mari" not in kept and b"private trace" not in kept and b"ss1" not in kept
    assert headers_only(entry(message=b"<not-soap/>")) == b""
    assert headers_only(entry(kind="REST", message=b"GET /r1/x\r\n")) == b"GET /r1/x\r\n"


def test_the_rule_follows_the_provider_and_the_side() -> None:
    own = {PROVIDER: False}
    rule = BodyLogging(True, own.get, frozenset([OTHER]))
    assert rule(entry(side="server")) is False  # the provider's own setting
    assert rule(entry(side="client")) is False  # ... on both sides of this gateway
    remote = OTHER.service("getTaxRecord", "v1")
    assert rule(entry(side="client", service=remote)) is False  # a remote override flips the global "on"
    assert rule(entry(side="server", service=remote)) is True  # remote lists are for the client side only
    assert BodyLogging(False, {}.get, frozenset([OTHER]))(entry(side="client", service=remote)) is True
    assert BodyLogging(False, {PROVIDER: True}.get)(entry(side="server")) is True
    assert BodyLogging(False)(entry(side="server")) is False


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "one-transaction"])
def test_records_with_and_without_bodies(tmp_path: Path, group_commit: bool) -> None:
    own: dict[object, bool] = {}
    config = MessageLogConfig(body_policy=BodyLogging(True, own.get), group_commit=group_commit)
    log = MessageLog(open_engine(tmp_path / "l.db"), clock=lambda: T0, config=config)
    att = [Attachment("application/pdf", b"%PDF-1")]
    whole = log.get(log.append(entry("q-1", message=SOAP, attachments=att)))
    assert whole.body_logged and whole.message == SOAP and whole.attachments == tuple(att)
    own[PROVIDER] = False  # the subsystem's override, read per message
    bare = log.get(log.append(entry("q-2", message=SOAP, attachments=att)))
    assert not bare.body_logged and b"Mari" not in bare.message and bare.attachments == ()
    assert bare.signature == entry("q-2", message=SOAP).signature  # the signature is kept as it was
    rest = log.get(log.append(entry("q-3", kind="REST", message=b"GET /r1\r\n", body=b'{"secret": 1}')))
    assert rest.body is None and rest.message == b"GET /r1\r\n" and not rest.body_logged
