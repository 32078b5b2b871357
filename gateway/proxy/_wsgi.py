"""The little WSGI both proxies speak: request headers, a bounded body, an answer.

The proxies are plain WSGI apps (cheroot serves them); these helpers are the only
places that read a WSGI environ's headers and body, so the size limit is enforced
once and the ``Content-Length`` of an answer is set once.
"""

from __future__ import annotations

from typing import Any, Callable

from trust.protocol import XRoadFault

StartResponse = Callable[..., Any]


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


def respond(start_response: StartResponse, status: str, headers: list[tuple[str, str]],
            body: bytes) -> list[bytes]:
    """Start the answer with its own ``Content-Length`` (any other is dropped) and return it."""
    start_response(status, [(n, v) for n, v in headers if n.lower() != "content-length"]
                   + [("Content-Length", str(len(body)))])
    return [body]
