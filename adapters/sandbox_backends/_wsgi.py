"""Minimal WSGI helpers for the sandbox backends (they stand in for legacy systems, not sild code)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from lxml import etree

from trust.infra import parse_xml

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Answer = tuple[str, bytes]
"""An HTTP status line and the body that goes with it."""


def respond(start_response: StartResponse, status: str, body: bytes, content_type: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def read_body(environ: dict[str, Any], limit: int = 1024 * 1024) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(min(length, limit)) if length > 0 else b""


def xml_endpoint(*, banner: bytes, content_type: str, what: str, malformed: Answer,
                 answer: Callable[[etree._Element], Answer]) -> WsgiApp:
    """A legacy XML-over-HTTP endpoint (the population register's SOAP, Vero's plain XML).

    ``GET`` answers ``banner`` as plain text; a ``POST`` body that is not XML gets
    ``malformed``; any other document goes to ``answer``. Every answer to a ``POST``
    is sent as ``content_type``.
    """

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return respond(start_response, "200 OK", banner, "text/plain")
        try:
            document = parse_xml(read_body(environ), what=what)
        except Exception:
            status, body = malformed
        else:
            status, body = answer(document)
        return respond(start_response, status, body, content_type)

    return app
