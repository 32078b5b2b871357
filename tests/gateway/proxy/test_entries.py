"""The log-entry builder and the request-alone rule of both proxies."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.proxy._entries import ExchangeIds, request_logged_on_failure
from gateway.signing import MessageSignature
from trust.protocol import MemberId, SubsystemId

CLIENT = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = MemberId("FI", "GOV", "0245437-2").service("income")
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def test_entries_say_side_protocol_and_direction() -> None:
    ids = ExchangeIds(side="server", kind="REST", client=CLIENT, service=SERVICE, query_id="q-1", x_request_id="x-1")
    batch = MessageSignature(b"<sig/>", b"<result/>", b"<chain/>")
    request = ids.request(b"head", batch, body=b"body")
    assert (request.side, request.kind, request.direction) == ("server", "REST", "request")
    assert (request.query_id, request.x_request_id, request.client, request.service) == ("q-1", "x-1", CLIENT, SERVICE)
    assert (request.message, request.body, request.signature) == (b"head", b"body", b"<sig/>")
    assert (request.hash_chain_result, request.hash_chain, request.logged_at) == (b"<result/>", b"<chain/>", None)
    soap = ExchangeIds(side="client", kind="SOAP", client=CLIENT, service=SERVICE, query_id="q-2", x_request_id="x-2")
    answer = soap.response(b"<env/>", MessageSignature(b"<sig/>"), attachments=[("text/plain", b"a")], at=AT)
    assert (answer.side, answer.kind, answer.direction, answer.logged_at) == ("client", "SOAP", "response", AT)
    assert [(a.content_type, a.data) for a in answer.attachments] == [("text/plain", b"a")]
    assert answer.hash_chain is None and answer.body is None


class _Sink:
    def __init__(self, fail: bool = False) -> None:
        self.logged: list[object] = []
        self.fail = fail

    def append(self, entry: object) -> int:
        if self.fail:
            raise OSError("disk full")
        self.logged.append(entry)
        return 1


def test_a_failed_exchange_logs_its_request_alone_and_keeps_its_fault() -> None:
    ids = ExchangeIds(side="client", kind="SOAP", client=CLIENT, service=SERVICE, query_id="q", x_request_id="x")
    request = ids.request(b"<env/>", MessageSignature(b"<sig/>"))
    sink = _Sink()
    with request_logged_on_failure(sink, request):  # type: ignore[arg-type]
        pass
    assert sink.logged == []
    with pytest.raises(ValueError), request_logged_on_failure(sink, request):  # type: ignore[arg-type]
        raise ValueError("peer failed")
    assert sink.logged == [request]
    with pytest.raises(ValueError), request_logged_on_failure(_Sink(fail=True), request):  # type: ignore[arg-type]
        raise ValueError("the original fault wins")
