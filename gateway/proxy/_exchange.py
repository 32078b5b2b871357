"""What both proxies share: the parts of a gateway, SOAP byte surgery, header filtering.

:class:`GatewayParts` bundles the collaborators one gateway node runs with (see
:mod:`gateway.proxy._context` for the interfaces). The helpers below work on exact bytes:
``requestHash`` is inserted into the provider's SOAP answer by splicing bytes right
after the ``id`` header element, as X-Road's streaming rewrite does, so the rest of
the answer stays byte-identical to what the provider IS sent (its signature and log
cover those bytes).
"""

from __future__ import annotations

import datetime as dt
import logging
import functools
import threading
from dataclasses import dataclass, field
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from trust.infra import utc_now
from trust.protocol import ClientId, SecurityServerId, ServiceId

from gateway.net import MAX_RESPONSE, HttpPool, backend_ssl_context
from gateway.signing import MessageSignature
from gateway.messagelog import Attachment as LogAttachment
from gateway.messagelog import LogEntry
from gateway.monitoring import MonitoringFeed
from gateway.net import Part

from ._context import AuthCertCheck, Clock, GlobalConfView, MessageLogSink, MessageSigning, OwnOcsp
from gateway.serverconf import AccessChecker
from gateway.serverconf import ServerConf

_log = logging.getLogger("sild.gateway.exchange")

PROXY_VERSION = "sild/1"

@dataclass
class GatewayParts:
    """Everything the proxies of one gateway node use."""

    server_id: SecurityServerId
    conf: GlobalConfView
    serverconf: "ServerConf"
    access: "AccessChecker"
    signing: MessageSigning
    auth_check: AuthCertCheck
    log: MessageLogSink
    own_ocsp: OwnOcsp
    clock: Clock = utc_now
    monitoring: "MonitoringFeed | None" = None
    backends: "BackendClients" = field(default_factory=lambda: BackendClients())
    extra: dict[str, Any] = field(default_factory=dict)


class BackendClients:
    """Pooled HTTP connections to backends, one pool per TLS setting (verify, CA bundle).

    Each pool keeps its connections per (scheme, host, port), so a service's own CA
    bundle never serves another service's address with a different trust.
    """

    def __init__(self, *, max_connections: int = 64, keepalive_expiry: float = 60.0,
                 max_response: int = MAX_RESPONSE) -> None:
        self._pools: dict[tuple[bool, str | None], HttpPool] = {}
        self._lock = threading.Lock()
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._max_response = max_response

    def get(self, tls_verify: bool, ca_pem: str | None) -> HttpPool:
        key = (tls_verify, ca_pem or None)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                # the TLS context is built once per setting (at its first https request), never per
                # request (DESIGN.md section 5)
                pool = HttpPool(ssl_context=functools.partial(backend_ssl_context, tls_verify, ca_pem),
                                max_connections=self._max, keepalive_expiry=self._expiry,
                                max_response=self._max_response)
                self._pools[key] = pool
            return pool

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def wsgi_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers of a WSGI environ, in a stable order, original case approximated."""
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        out.append(("Content-Type", environ["CONTENT_TYPE"]))
    return out


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    from trust.protocol import XRoadFault

    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length.isdigit():
        n = int(length)
        if n > limit:
            raise XRoadFault("invalid_message", f"message larger than {limit} bytes")
        return bytes(stream.read(n)) if n else b""
    data = bytes(stream.read(limit + 1))
    if len(data) > limit:
        raise XRoadFault("invalid_message", f"message larger than {limit} bytes")
    return data


StartResponse = Callable[..., Any]


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


def attachment_part(attachment: Any) -> Part:
    """A SOAP attachment as a transport part, its MIME headers (Content-ID...) kept."""
    headers = tuple((n, v) for n, v in attachment.headers.items
                    if n.lower() not in ("content-type", "content-transfer-encoding"))
    return Part(attachment.content_type or "application/octet-stream", attachment.read(), headers)
