"""The one exchange flow of both proxies, driven with fake parts and a fake protocol.

The in-process and sandbox tests run the flow with real SOAP and REST; these pin
what the flow itself promises whatever the protocol: the order of its steps, when
the log commits (request and answer together, or the request alone on failure), and
which faults are re-badged as ``service_failed``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from gateway.messagelog import LogEntry
from gateway.monitoring import OpNote
from gateway.net import MIME_REST_BODY, MIME_REST_REQUEST, MIME_REST_RESPONSE, Part, Received, encode_message
from gateway.conf import ServerEntry
from gateway.proxy._entries import ExchangeIds
from gateway.proxy._flow import ServedAnswer, client_exchange, server_exchange
from gateway.signing import MessageSignature
from trust.protocol import MemberId, SecurityServerId, SubsystemId, XRoadFault

CLIENT = SubsystemId("EE", "GOV", "70000001", "tax")
SERVICE = MemberId("FI", "GOV", "0245437-2").service("income")
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
PEER = ServerEntry(SecurityServerId("FI", "GOV", "0245437-2", "gw1"), "127.0.0.1:1", frozenset())


class _Parts(SimpleNamespace):
    """GatewayParts with recording fakes for signing and the log."""

    def __init__(self, *, verify_fails: bool = False) -> None:
        steps: list[Any] = []
        super().__init__(steps=steps, clock=lambda: AT, tracker=None)
        self.signing = SimpleNamespace(
            sign_message=lambda data, member: steps.append(("sign", data.parts, member)) or MessageSignature(b"<s/>"),
            verify=self._verify if not verify_fails else self._refuse)
        self.log = SimpleNamespace(append=lambda e: steps.append(("log alone", e.direction)),
                                   append_all=lambda es: steps.append(("log", [e.direction for e in es])),
                                   check_accepting=lambda at: steps.append(("accepting",)))

    def _verify(self, signature: bytes, data: Any, *, signer: Any, **_: Any) -> None:
        self.steps.append(("verify", data.parts, signer))

    def _refuse(self, signature: bytes, data: Any, **_: Any) -> None:
        raise XRoadFault("invalid_signature_value", "bad")


class _RestCall:
    """A fake protocol: records which of its hooks the flow called, in order."""

    records_peer = True

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.ids = ExchangeIds(side="client", kind="REST", client=CLIENT, service=SERVICE, query_id="q",
                               x_request_id="x")
        self.signed = ((MIME_REST_REQUEST, b"GET /\r\n"),)
        self.parts = [Part(MIME_REST_REQUEST, b"GET /\r\n")]
        self.headers = {"X-Road-Request-Id": "x"}

    def request_entry(self, sig: MessageSignature) -> LogEntry:
        return self.ids.request(b"GET /\r\n", sig)

    def check_parts(self, msg: list[Part]) -> None:
        self.steps.append(("check parts", [x.mime for x in msg]))

    def read_answer(self, got: Received, msg: list[Part]) -> bytes:
        return msg[1].data

    def answer_entry(self, answer: bytes, msg: list[Part], signature: MessageSignature,
                     clock: Callable[[], dt.datetime]) -> LogEntry:
        self.steps.append(("check answer", answer))
        return self.ids.response(msg[0].data, signature, body=answer, at=clock())

    def reply(self, answer: bytes, msg: list[Part]) -> tuple[str, list[tuple[str, str]], bytes]:
        return "200 OK", [], answer


def _answer() -> SimpleNamespace:
    ctype, body = encode_message([Part(MIME_REST_RESPONSE, b"200 OK\r\n"), Part(MIME_REST_BODY, b"{}")],
                                 signature=b"<s/>")
    return SimpleNamespace(headers={"content-type": ctype}, content=body)


def test_client_flow_signs_sends_verifies_and_logs_request_and_answer_together() -> None:
    parts = _Parts()
    call = _RestCall(parts.steps)
    note = OpNote.start("client")

    def send(candidates: list[ServerEntry], headers: dict[str, str], sent: list[Part], sig: MessageSignature,
             at: dt.datetime) -> tuple[ServerEntry, Any]:
        parts.steps.append(("send", candidates, headers, sig.signature, at))
        return PEER, _answer()

    reply = client_exchange(parts, call, note, send=send, candidates=[PEER], at=AT)  # type: ignore[arg-type]
    assert reply == ("200 OK", [], b"{}")
    assert parts.steps == [
        ("sign", ((MIME_REST_REQUEST, b"GET /\r\n"),), CLIENT.member),
        ("send", [PEER], {"X-Road-Request-Id": "x"}, b"<s/>", AT),
        ("check parts", [MIME_REST_RESPONSE, MIME_REST_BODY]),
        ("verify", ((MIME_REST_RESPONSE, b"200 OK\r\n"), (MIME_REST_BODY, b"{}")), SERVICE.provider.member),
        ("check answer", b"{}"),
        ("log", ["request", "response"]),
    ]
    assert note.service_server_address == PEER.address and note.response_size == len(_answer().content)


def test_client_flow_logs_the_request_alone_when_the_answer_is_refused() -> None:
    parts = _Parts(verify_fails=True)
    with pytest.raises(XRoadFault) as caught:
        client_exchange(parts, _RestCall(parts.steps), None, send=lambda *_: (PEER, _answer()),  # type: ignore[arg-type]
                        candidates=[PEER], at=AT)
    # a fault without origin found in the answer is the provider's: service_failed at the client proxy
    assert caught.value.fault_code == "server.clientproxy.service_failed.invalid_signature_value"
    assert parts.steps[-1] == ("log alone", "request")
    parts = _Parts()

    def unreachable(*_: Any) -> Any:
        raise XRoadFault("network_error", "cannot connect")

    with pytest.raises(XRoadFault) as caught:
        client_exchange(parts, _RestCall(parts.steps), None, send=unreachable, candidates=[PEER], at=AT)  # type: ignore[arg-type]
    assert caught.value.fault_code == "network_error"  # a sending failure is not re-badged
    assert [s[0] for s in parts.steps] == ["sign", "log alone"]


class _Served:
    def __init__(self, steps: list[Any], *, answer_fails: bool = False, route_fails: bool = False) -> None:
        self.steps, self.answer_fails, self.route_fails = steps, answer_fails, route_fails
        self.ids = ExchangeIds(side="server", kind="SOAP", client=CLIENT, service=SERVICE, query_id="q",
                               x_request_id="x")
        self.security_server = None
        self.msg = [Part("text/xml", b"<req/>")]

    def identify(self, note: OpNote) -> None:
        self.steps.append(("identify",))

    def route(self, signature: MessageSignature, at: dt.datetime) -> LogEntry:
        self.steps.append(("route",))
        if self.route_fails:
            raise XRoadFault("server.serverproxy.access_denied", "no")
        return self.ids.request(b"<req/>", signature)

    def answer(self) -> ServedAnswer:
        self.steps.append(("answer",))
        if self.answer_fails:
            raise XRoadFault("server.serverproxy.service_failed.network_error", "backend down")
        return ServedAnswer((("text/xml", b"<ans/>"),), [Part("text/xml", b"<ans/>"), Part("text/plain", b"a")],
                            (("X-Hash-Algorithm", "SHA-512"),))


def _server_parts() -> _Parts:
    parts = _Parts()
    served = SimpleNamespace(registered=True)
    parts.server_id = PEER.server_id
    parts.serverconf = SimpleNamespace(snapshot=lambda: SimpleNamespace(client=lambda c: served))
    parts.conf = SimpleNamespace(server_with_auth_cert=lambda h, at: PEER, is_client_of=lambda s, c, at: True)
    parts.auth_check = SimpleNamespace(check=lambda der, ocsp, instance, at: parts.steps.append(("peer",)))
    return parts


def test_server_flow_checks_then_routes_then_answers_and_logs_together() -> None:
    parts = _server_parts()
    status, headers, body = server_exchange(parts, _Served(parts.steps), MessageSignature(b"<r/>"), b"der", [],  # type: ignore[arg-type]
                                            AT, OpNote.start("server"))
    assert [s[0] for s in parts.steps] == ["peer", "accepting", "identify", "verify", "route", "answer", "sign", "log"]
    assert parts.steps[-1] == ("log", ["request", "response"])
    assert status == "200 OK" and [n for n, _ in headers] == [
        "Content-Type", "X-Road-Request-Id", "X-Hash-Algorithm", "X-Proxy-Version"]
    assert b"<ans/>" in body


def test_server_flow_logs_nothing_before_routing_and_the_request_alone_after() -> None:
    parts = _server_parts()
    with pytest.raises(XRoadFault):
        server_exchange(parts, _Served(parts.steps, route_fails=True), MessageSignature(b"<r/>"), b"der", [],  # type: ignore[arg-type]
                        AT, OpNote.start("server"))
    assert not [s for s in parts.steps if s[0].startswith("log")]
    parts = _server_parts()
    with pytest.raises(XRoadFault):
        server_exchange(parts, _Served(parts.steps, answer_fails=True), MessageSignature(b"<r/>"), b"der", [],  # type: ignore[arg-type]
                        AT, OpNote.start("server"))
    assert parts.steps[-2:] == [("answer",), ("log alone", "request")]
