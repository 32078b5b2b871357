"""The one exchange flow of both proxies; SOAP and REST differ only in a small strategy.

An X-Road exchange runs through the same steps whatever the protocol:

* client proxy (:func:`client_exchange`): sign the request, log it, send it to the
  provider's gateway, verify the answer's signature, check the answer against the
  request (echoed headers and ``requestHash``), log request and answer together,
  answer the IS;
* server proxy (:func:`server_exchange`): check the peer gateway, the timestamping
  state and the request's signature, decide the service (metaservice or backend,
  access rights), call it, sign the answer, log request and answer together, send
  it back.

What SOAP and REST do differently (which parts are signed, what is checked, how
the answer reads) is the strategy object the proxy hands in (:class:`ClientCall`,
:class:`ServedCall`; implemented in :mod:`gateway.proxy._client_calls` and
:mod:`gateway.proxy._server_calls`). The order of the steps, the fault codes and
the moments the log commits are fixed here, once: a request and its answer go on
record in one transaction before the answer leaves; a request that gets no answer
goes on record alone (:func:`gateway.proxy._entries.request_logged_on_failure`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, TypeVar

from trust.protocol import SecurityServerId, SoapFaultMessage, XRoadFault, parse_soap

from gateway.messagelog import LogEntry
from gateway.monitoring import OpNote
from gateway.net import Part, PeerResponse, Received, decode_message, encode_message
from gateway.signing import MessageSignature

from gateway.conf import ServerEntry
from gateway.signing import SignedParts
from gateway.tracker import SeenRequest
from ._entries import ExchangeIds, declared_purpose, request_logged_on_failure
from ._gateway_parts import GatewayParts

PROXY_VERSION = "sild/1"
CLIENT_ORIGIN = "server.clientproxy"
SERVER_ORIGIN = "server.serverproxy"

Reply = tuple[str, list[tuple[str, str]], bytes]
A = TypeVar("A")


def check_accepting(parts: GatewayParts, at: dt.datetime) -> None:
    """X-Road refuses messages once timestamping has failed for too long (4 h by default)."""
    from gateway.messagelog import TimestampingOverdue

    try:
        parts.log.check_accepting(at)
    except TimestampingOverdue as exc:
        raise XRoadFault("mlog_timestamper_failed", str(exc)) from exc


def attachment_part(attachment: Any) -> Part:
    """A SOAP attachment as a transport part, its MIME headers (Content-ID...) kept."""
    headers = tuple((n, v) for n, v in attachment.headers.items
                    if n.lower() not in ("content-type", "content-transfer-encoding"))
    return Part(attachment.content_type or "application/octet-stream", attachment.read(), headers)


# -- the client proxy's side --------------------------------------------------------------


class ClientCall(Protocol[A]):
    """One protocol's share of the client proxy's exchange; ``A`` is its read answer."""

    ids: ExchangeIds
    signed: tuple[tuple[str, bytes], ...]  # what the signature covers: (mime type, exact bytes)
    parts: list[Part]  # the request's transport parts
    headers: dict[str, str]  # the request's transport headers
    records_peer: bool  # op monitoring notes the provider's gateway and the answer size

    def request_entry(self, sig: MessageSignature) -> LogEntry: ...

    def check_parts(self, msg: list[Part]) -> None:
        """Before the answer's signature is verified: its parts are what the protocol sends."""

    def read_answer(self, got: Received, msg: list[Part]) -> A:
        """The verified answer, read."""

    def answer_entry(self, answer: A, msg: list[Part], signature: MessageSignature,
                     clock: Callable[[], dt.datetime]) -> LogEntry:
        """Check the answer against the request, then its log entry (stamped ``clock()``)."""

    def reply(self, answer: A, msg: list[Part]) -> Reply:
        """What the IS gets."""


Send = Callable[[list[ServerEntry], dict[str, str], list[Part], MessageSignature, dt.datetime],
               tuple[ServerEntry, PeerResponse]]


def client_exchange(parts: GatewayParts, call: ClientCall[A], note: OpNote | None, *, send: Send,
                    candidates: list[ServerEntry], at: dt.datetime) -> Reply:
    """Sign, log, send, verify, check, log, answer: the client proxy's exchange after its checks.

    ``send`` tries the provider's ``candidates`` gateways in turn (``ClientProxy._send``).
    """
    ids = call.ids
    sig = parts.signing.sign_message(SignedParts(call.signed), member=ids.client.member)
    request_entry = call.request_entry(sig)
    with request_logged_on_failure(parts.log, request_entry):
        if note is not None:
            note.sending()
        entry, resp = send(candidates, call.headers, call.parts, sig, at)
        if note is not None:
            note.answered()
        if note is not None and call.records_peer:
            note.service_server_address = entry.address
            note.response_size = len(resp.content)
        try:
            provider_fault(resp)
            got = received(resp)
            msg, signature = list(got.message), signature_of(got)
            call.check_parts(msg)
            parts.signing.verify(signature.signature, SignedParts(tuple((x.mime, x.data) for x in msg)),
                                 signer=ids.service.provider.member, at=parts.clock(),
                                 hash_chain_result=signature.hash_chain_result, hash_chain=signature.hash_chain)
            answer = call.read_answer(got, msg)
        except XRoadFault as fault:
            if fault.origin is not None:
                raise
            raise fault.service_failed(CLIENT_ORIGIN) from None
        # request and answer on record together, before the IS sees the answer
        parts.log.append_all([request_entry, call.answer_entry(answer, msg, signature, parts.clock)])
    return call.reply(answer, msg)


def provider_fault(resp: PeerResponse) -> None:
    """A provider gateway that answers with a plain SOAP fault relays it; other plain XML is refused."""
    ctype = resp.headers.get("content-type", "")
    if ctype.lower().startswith("text/xml"):
        answer = parse_soap(resp.content, ctype, role="response")
        if isinstance(answer, SoapFaultMessage):
            raise XRoadFault(answer.faultcode, answer.faultstring,
                             correlation_id=answer.detail or str(uuid.uuid4()))
        raise XRoadFault(f"{CLIENT_ORIGIN}.service_failed.invalid_content_type",
                         "the provider's gateway answered without a signature")


def received(resp: PeerResponse) -> Received:
    """The signed answer of the provider's gateway: its message parts and signature."""
    got = decode_message(resp.headers.get("content-type", ""), resp.content, role="response",
                         origin=CLIENT_ORIGIN, original_content_type=resp.headers.get("x-original-content-type"))
    if got.fault is not None and not got.message:
        raise XRoadFault(got.fault.faultcode, got.fault.faultstring,
                         correlation_id=got.fault.detail or str(uuid.uuid4()))
    if not got.message or got.signature is None:
        raise XRoadFault(f"{CLIENT_ORIGIN}.service_failed.invalid_message",
                         "the answer lacks its message or signature")
    return got


def signature_of(got: Received) -> MessageSignature:
    """The answer's signature; the transport decoder accepts a hash chain only with its result."""
    assert got.signature is not None  # received() refused an answer without one
    return MessageSignature(got.signature, got.hash_chain_result, got.hash_chain)


# -- the server proxy's side --------------------------------------------------------------


@dataclass(frozen=True)
class ServedAnswer:
    """The answer of a service or metaservice, ready to sign and send."""

    signed: tuple[tuple[str, bytes], ...]  # what the signature covers
    parts: list[Part]  # the answer's transport parts, message part first
    headers: Sequence[tuple[str, str]]  # transport headers besides type, request id and version

    def entry(self, ids: ExchangeIds, sig: MessageSignature, at: dt.datetime) -> LogEntry:
        """The answer's log entry: SOAP with its attachments, REST with its body."""
        first = self.parts[0]
        if ids.kind == "REST":
            return ids.response(first.data, sig, body=self.parts[1].data if len(self.parts) > 1 else None, at=at)
        return ids.response(first.data, sig, attachments=[(x.content_type, x.data) for x in self.parts[1:]], at=at)


class ServedCall(Protocol):
    """One protocol's share of the server proxy's exchange."""

    ids: ExchangeIds
    security_server: SecurityServerId | None
    msg: list[Part]  # the request's message parts, as signed

    def identify(self, note: OpNote) -> None:
        """Op monitoring learns who calls what."""

    def route(self, signature: MessageSignature, at: dt.datetime) -> LogEntry:
        """Decide who answers (a metaservice, or the backend service if the client may use
        it); the request's log entry."""

    def answer(self) -> ServedAnswer:
        """Call who answers; the answer made ready to sign."""

    def seen(self) -> SeenRequest | None:
        """The request as the data tracker reads it (None: a metaservice answered)."""


def server_exchange(parts: GatewayParts, call: ServedCall, signature: MessageSignature, cert_der: bytes,
                    ocsp: list[bytes], at: dt.datetime, note: OpNote) -> Reply:
    """Check, verify, route, call, sign, log, answer: the server proxy's exchange after reading."""
    ids = call.ids
    check_peer(parts, ids, call.security_server, cert_der, ocsp, at)
    check_accepting(parts, at)
    call.identify(note)
    parts.signing.verify(signature.signature, SignedParts(tuple((x.mime, x.data) for x in call.msg)),
                         signer=ids.client.member, at=at,
                         hash_chain_result=signature.hash_chain_result, hash_chain=signature.hash_chain)
    request_entry = call.route(signature, at)
    with request_logged_on_failure(parts.log, request_entry):
        note.sending()
        answer = call.answer()
        note.answered()
        sig = parts.signing.sign_message(SignedParts(answer.signed), member=ids.service.provider.member)
        # request and answer on record together, before the answer leaves
        record_id = parts.log.append_all([request_entry, answer.entry(ids, sig, parts.clock())])
    if parts.tracker is not None:  # "who looked at my data": a queue append, never a failure
        parts.tracker.observe(call.seen, record_id, purpose=declared_purpose(ids))
    ctype, body = encode_message(answer.parts, signature=sig.signature, hash_chain_result=sig.hash_chain_result,
                                 hash_chain=sig.hash_chain)
    return "200 OK", [("Content-Type", ctype), ("X-Road-Request-Id", ids.x_request_id), *answer.headers,
                      ("X-Proxy-Version", PROXY_VERSION)], body


def check_peer(parts: GatewayParts, ids: ExchangeIds, security_server: SecurityServerId | None,
               cert_der: bytes, ocsp: list[bytes], at: dt.datetime) -> None:
    """Steps 1 to 3: this gateway is meant, serves the provider, and the peer is a gateway of the client."""
    if security_server is not None and security_server != parts.server_id:
        raise XRoadFault("invalid_security_server",
                         f"security server {security_server.to_text()} is not this gateway")
    provider = ids.service.provider
    info = parts.serverconf.snapshot().client(provider)
    # the owner member is always served (X-Road lists it as a client; its op-monitoring
    # metaservices are answered here): its ordinary services are checked by the access rules
    if provider != parts.server_id.owner and (info is None or not info.registered):
        raise XRoadFault("unknown_member", f"service provider {provider.to_text()} is not served here")
    entry = parts.conf.server_with_auth_cert(hashlib.sha256(cert_der).digest(), at)
    if entry is None or not parts.conf.is_client_of(entry.server_id, ids.client, at):
        raise XRoadFault("ssl_authentication_failed",
                         f"the TLS certificate is not registered for a gateway of {ids.client.to_text()}")
    parts.auth_check.check(cert_der, ocsp, instance=entry.server_id.instance, at=at)
