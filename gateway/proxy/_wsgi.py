"""The little WSGI both proxies speak: request headers, a bounded body, an answer.

The proxies are plain WSGI apps (``trust.infra.EdgeServer`` serves them); these helpers
are the only places that read a WSGI environ's headers and body, so the size limit and
the memory a body may take are enforced once and the ``Content-Length`` of an answer is
set once.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import quote, urlsplit

from trust.protocol import XRoadFault
from trust.protocol.mime import CHUNK, SPOOL_THRESHOLD, MimeError, PartBody, spool

StartResponse = Callable[..., Any]
MiB = 1 << 20


def wsgi_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers of a WSGI environ, in a stable order, original case approximated."""
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        out.append(("Content-Type", environ["CONTENT_TYPE"]))
    return out


def raw_path(environ: dict[str, Any]) -> str:
    """The request path as the client sent it, percent-encoding kept, without the query.

    WSGI's ``PATH_INFO`` is already decoded, and servers differ in what they decode
    (cheroot keeps ``%2F``); a REST path must be checked, matched against access rights
    and forwarded in one form, so the proxies read the raw target (``REQUEST_URI``,
    also in its absolute-URI form when the IS uses the gateway as an HTTP proxy). A
    server without ``REQUEST_URI`` gets ``PATH_INFO`` encoded again: a decoded ``..``
    or backslash stays visible to the checks.
    """
    uri = environ.get("REQUEST_URI")
    if uri:
        if uri.lower().startswith(("http://", "https://")):
            return urlsplit(uri).path or "/"
        return uri.split("?", 1)[0] or "/"
    path = environ.get("PATH_INFO", "") or "/"
    return quote(path.encode("latin-1", "replace"), safe="/!$&'()*+,;=:@-._~\\")


def read_body(environ: dict[str, Any], limit: int) -> PartBody:
    """The request body, read in chunks: in memory up to ``SPOOL_THRESHOLD``, then spooled to
    a temporary file, never past ``limit``.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked
    body is refused as soon as it crosses the limit, its spooled bytes dropped. So a body
    costs this process at most the threshold in memory whatever the client sends (X-Road's
    proxies cache large messages on disk for the same reason); holding a large message in
    memory for processing is :class:`MessageBudget`'s decision.
    """
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    declared = int(length) if length.isdigit() else None
    if declared is not None and declared > limit:
        raise XRoadFault("invalid_message", f"message larger than {limit} bytes")

    def chunks() -> Iterator[bytes]:
        left = declared
        while left is None or left > 0:
            chunk = stream.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield bytes(chunk)

    try:
        return spool(chunks(), limit=limit, what="message")
    except MimeError:
        raise XRoadFault("invalid_message", f"message larger than {limit} bytes") from None


class MessageBudget:
    """How many bytes of large messages one proxy holds in memory at once.

    A spooled body costs nothing until it is processed, but parsing, signing, logging and
    sending work on the whole message in memory: about five times its size per gateway
    (measured in docs/performance.md), so the default 32 MiB of messages is some 160 MiB
    of memory per proxy and process. Messages up to
    ``SPOOL_THRESHOLD`` never count and never wait: they are what almost all traffic is.
    A larger one takes its size from the budget for as long as it is processed, waits up
    to ``wait`` seconds for others to give theirs back, and is otherwise refused with
    ``out_of_memory`` (nothing was done with it yet, so the client can simply retry). A
    waiting message holds one of the port's threads, so at most ``waiting`` wait; one
    more is refused at once, leaving the threads to the small messages. A message larger
    than the whole budget is let through alone (when nothing else holds any), so the
    message limit, not the budget, decides what is too large.
    """

    def __init__(self, limit: int = 32 * MiB, *, wait: float = 15.0, waiting: int = 4) -> None:
        self.limit = limit
        self.wait = wait
        self.max_waiting = waiting
        self.held = 0
        self.waiting = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        if size <= SPOOL_THRESHOLD:
            yield
            return
        with self._cond:
            fits = self.held == 0 or self.held + size <= self.limit
            if not fits and self.waiting < self.max_waiting:
                self.waiting += 1
                try:
                    fits = self._cond.wait_for(lambda: self.held == 0 or self.held + size <= self.limit, self.wait)
                finally:
                    self.waiting -= 1
            if not fits:
                raise XRoadFault("out_of_memory", f"the gateway holds {self.held / MiB:.1f} MiB of large messages, "
                                 f"its budget of {self.limit / MiB:.1f} MiB; retry this {size / MiB:.1f} MiB "
                                 "message later")
            self.held += size
        try:
            yield
        finally:
            with self._cond:
                self.held -= size
                self._cond.notify_all()


@contextmanager
def held_body(environ: dict[str, Any], limit: int, budget: MessageBudget) -> Iterator[PartBody]:
    """The spooled request body, its size held in ``budget`` while the caller processes it.

    The caller reads it (``body.read()``) straight into what parses it and keeps no other
    reference, so that the raw message can be freed once parsed: a message is then in
    memory as its parts, not also as the bytes they were cut from."""
    body = read_body(environ, limit)
    try:
        with budget.hold(body.size):
            yield body
    finally:
        body.close()


def respond(start_response: StartResponse, status: str, headers: list[tuple[str, str]],
            body: bytes) -> list[bytes]:
    """Start the answer with its own ``Content-Length`` (any other is dropped) and return it."""
    start_response(status, [(n, v) for n, v in headers if n.lower() != "content-length"]
                   + [("Content-Length", str(len(body)))])
    return [body]
