"""The steps of an X-Road exchange that both proxies take, whatever the protocol.

An exchange runs through the same steps on both sides (check, sign, log, send,
verify, access, backend, ``requestHash``, sign, log, answer); this module holds the
steps the client proxy and the server proxy share, so that each proxy says only
what differs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trust.protocol import XRoadFault

from gateway.net import Part

from ._gateway_parts import GatewayParts

PROXY_VERSION = "sild/1"


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
