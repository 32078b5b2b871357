"""Message-log entries of an exchange, and the rule for logging a request alone.

Both proxies put each exchange on record twice (request, answer) with the same
identifiers, and both follow the same rule when no answer comes: the signed request
still goes on record before the fault goes out. Building the entries and applying
that rule live here so that the proxies' flows say only *when* they log.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence

from trust.protocol import ClientId, ServiceId

from gateway.messagelog import Attachment as LogAttachment
from gateway.messagelog import LogEntry
from gateway.signing import MessageSignature

from ._context import MessageLogSink

_log = logging.getLogger("sild.gateway.exchange")


Side = Literal["client", "server"]
Kind = Literal["SOAP", "REST"]


@dataclass(frozen=True, slots=True)
class ExchangeIds:
    """What every log entry of one exchange on one side repeats: side, protocol, who, what, ids.

    Its two methods build the message-log entries of the exchange (a batch signature with
    its hash chain), so a call site says which one it logs instead of passing flags.
    """

    side: Side
    kind: Kind
    client: ClientId
    service: ServiceId
    query_id: str
    x_request_id: str
    purpose: str | None = None  # declared by the client, signed with the request (issue 20)

    def request(self, message: bytes, sig: MessageSignature, *, body: bytes | None = None,
                attachments: Sequence[tuple[str, bytes]] = ()) -> LogEntry:
        """The entry of the request (its time is the log's own clock at writing)."""
        return LogEntry(query_id=self.query_id, client=self.client, service=self.service, side=self.side,
                        direction="request", kind=self.kind, message=message, signature=sig.signature, body=body,
                        x_request_id=self.x_request_id, hash_chain_result=sig.hash_chain_result,
                        hash_chain=sig.hash_chain, attachments=[LogAttachment(c, d) for c, d in attachments],
                        purpose=self.purpose)

    def response(self, message: bytes, sig: MessageSignature, *, at: dt.datetime, body: bytes | None = None,
                 attachments: Sequence[tuple[str, bytes]] = ()) -> LogEntry:
        """The entry of the answer, stamped ``at``."""
        return LogEntry(query_id=self.query_id, client=self.client, service=self.service, side=self.side,
                        direction="response", kind=self.kind, message=message, signature=sig.signature, body=body,
                        x_request_id=self.x_request_id, hash_chain_result=sig.hash_chain_result,
                        hash_chain=sig.hash_chain, attachments=[LogAttachment(c, d) for c, d in attachments],
                        logged_at=at, purpose=self.purpose)


def declared_purpose(ids: ExchangeIds) -> str | None:
    """The declared purpose of this request, or ``None`` when the client declared none.

    The purpose is what the client wrote in the request its gateway signed (SOAP: the
    ``sild:purpose`` header element; REST: the ``X-Sild-Purpose`` header; see
    :mod:`trust.protocol._purpose`), read once when the request is read and checked to be
    a well-formed code. The access rules, the message log and the data tracker all take
    it from here, so they cannot disagree about why a request was made.
    """
    return ids.purpose


@contextmanager
def request_logged_on_failure(sink: MessageLogSink, request: LogEntry) -> Iterator[None]:
    """Log ``request`` alone if the block fails.

    A proxy logs an exchange's request and answer in one transaction once the answer
    is decided (``append_all``). When no answer comes (the peer or backend failed, the
    answer was refused), the signed request is still put on record before the fault
    goes out. A failure to log it is logged and does not hide the original fault.
    """
    try:
        yield
    except BaseException:
        try:
            sink.append(request)
        except Exception:  # noqa: BLE001 - the original fault is what the caller must see
            _log.exception("could not log the request %s after a failed exchange", request.query_id)
        raise
