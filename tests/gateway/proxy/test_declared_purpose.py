"""``gateway.proxy.declared_purpose``: the one answer to "why was this request made" (issue 20)."""

from __future__ import annotations

import datetime as dt

from gateway.proxy import ExchangeIds, declared_purpose
from gateway.signing import MessageSignature
from trust.protocol import MemberId, SubsystemId

CLIENT = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = MemberId("FI", "GOV", "0245437-2").service("income")
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def test_declared_purpose_is_what_both_log_entries_carry() -> None:
    ids = ExchangeIds(side="server", kind="REST", client=CLIENT, service=SERVICE, query_id="q", x_request_id="x",
                      purpose="tax-assessment")
    assert declared_purpose(ids) == "tax-assessment"
    sig = MessageSignature(b"<sig/>")
    assert ids.request(b"head", sig).purpose == "tax-assessment"
    assert ids.response(b"head", sig, at=AT).purpose == "tax-assessment"


def test_no_declaration_is_none_as_from_any_x_road_peer() -> None:
    ids = ExchangeIds(side="client", kind="SOAP", client=CLIENT, service=SERVICE, query_id="q", x_request_id="x")
    assert declared_purpose(ids) is None
    assert ids.request(b"<env/>", MessageSignature(b"<sig/>")).purpose is None
