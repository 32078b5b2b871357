"""Content-Type values of the message layer, and the error of all MIME reading.

A proxy reads the same few part types on every exchange (``text/xml``, the REST
header part, ``application/ocsp-response``), so parsed values are cached; a
:class:`ContentType` is immutable. Quoted parameter values are unquoted, parameter
names lower-cased, and nothing is decoded beyond that: the raw value is kept for
messages rebuilt with the type the other side sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


class MimeError(ValueError):
    """Malformed MIME data; ``reason`` is one of ``content_type``, ``no_parts``, ``malformed``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# -- Content-Type -------------------------------------------------------------------


@dataclass(frozen=True)
class ContentType:
    """A parsed ``Content-Type``: lower-cased media type and parameters (names lower-cased)."""

    media_type: str
    params: tuple[tuple[str, str], ...] = ()
    raw: str = ""

    def param(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def charset(self) -> str | None:
        value = self.param("charset")
        return value.strip().lower() if value else None

    @property
    def boundary(self) -> str | None:
        return self.param("boundary")

    def is_multipart(self) -> bool:
        return self.media_type.startswith("multipart/")


def parse_content_type(value: str | None) -> ContentType:
    """Parse a Content-Type header value; quoted parameter values are unquoted.

    Raises :class:`MimeError` (reason ``content_type``) when there is no ``type/subtype``.
    """
    if value is None or not value.strip():
        raise MimeError("the Content-Type header is missing", "content_type")
    return _parse_content_type(value.strip())


@functools.lru_cache(maxsize=512)
def _parse_content_type(text: str) -> ContentType:
    """Cached: a proxy message carries the same few part types on every exchange, and a
    :class:`ContentType` is immutable (a refused value raises and is not cached)."""
    value = text
    items = _split_params(text)
    media = items[0].strip().lower()
    if "/" not in media or media.startswith("/") or media.endswith("/") or len(media.split()) != 1:
        raise MimeError(f"Content-Type {value!r} is not a media type", "content_type")
    params: list[tuple[str, str]] = []
    for item in items[1:]:
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        if not sep:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params.append((name.strip().lower(), raw))
    return ContentType(media, tuple(params), text)


def _split_params(text: str) -> list[str]:
    """Split on ``;`` outside double quotes."""
    if '"' not in text:
        return text.split(";")
    items, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items
