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
from typing import Iterator, Sequence

from trust.protocol import ClientId, ServiceId

from gateway.messagelog import Attachment as LogAttachment
from gateway.messagelog import LogEntry
from gateway.signing import MessageSignature

from ._context import MessageLogSink

_log = logging.getLogger("sild.gateway.exchange")


def make_entry(side: str, query_id: str, x_request_id: str, client: ClientId, service: ServiceId, response: bool,
               rest: bool, message: bytes, sig: MessageSignature, *, body: bytes | None = None,
               attachments: Sequence[tuple[str, bytes]] = (), at: dt.datetime | None = None) -> LogEntry:
    """A message-log entry for one side of one exchange (a batch signature with its hash chain)."""
    return LogEntry(query_id=query_id, client=client, service=service, side=side,
                    direction="response" if response else "request", kind="REST" if rest else "SOAP",
                    message=message, signature=sig.signature, body=body, x_request_id=x_request_id,
                    hash_chain_result=sig.hash_chain_result, hash_chain=sig.hash_chain,
                    attachments=[LogAttachment(c, d) for c, d in attachments], logged_at=at)


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
