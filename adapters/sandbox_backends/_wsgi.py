"""Minimal WSGI helpers for the sandbox backends (they stand in for legacy systems, not sild code)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

StartResponse = Callable[..., Any]


def respond(start_response: StartResponse, status: str, body: bytes, content_type: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def read_body(environ: dict[str, Any], limit: int = 1024 * 1024) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(min(length, limit)) if length > 0 else b""
