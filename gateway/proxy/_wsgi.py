"""The little WSGI both proxies speak: request headers, a bounded body, an answer.

The proxies are plain WSGI apps (cheroot serves them); these helpers are the only
places that read a WSGI environ's headers and body, so the size limit is enforced
once and the ``Content-Length`` of an answer is set once.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote, urlsplit

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
