"""The directory's MIME envelope, read by stricter rules than MIME's.

A signed directory is a two-level multipart whose header blocks are few and fixed
(NOTES section 5). trust.protocol's one MIME reader cuts the parts; the helpers
here read their header blocks and values by the directory's own rules: header names
of letters, digits and dashes only, no control characters, each expected header at
most once, parameters quoted either way (X-Road writes ``instance='X'``), base64
only in its canonical form. Anything else is refused as :class:`ConfMalformed`
before a byte of the document is trusted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from trust.protocol import MimeError, raw_headers, split_multipart

from federation.model import ConfMalformed, ConfMissingExpiry

_HEADER_NAME = re.compile(rb"^[A-Za-z0-9-]+$")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_PARAM = re.compile(r"""[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"([^"]*)"|'([^']*)'|([^;\s]*))[ \t]*""")

Headers = list[tuple[str, str]]


def _split_head(block: bytes, what: str) -> tuple[Headers, bytes]:
    """Split ``block`` into (headers, body) at the first empty line."""
    headers: Headers = []
    pos = 0
    while True:
        end = block.find(b"\n", pos)
        if end == -1:
            line, nxt = block[pos:], len(block)
        else:
            line, nxt = block[pos:end], end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return headers, block[nxt:]
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(b" \t").decode("utf-8", "replace"))
        else:
            if b":" not in line:
                raise ConfMalformed(f"{what}: header line {line[:60]!r} has no colon")
            name_b, value_b = line.split(b":", 1)
            if not _HEADER_NAME.match(name_b):
                raise ConfMalformed(f"{what}: {name_b[:60]!r} is not a header name")
            if _CONTROL.search(value_b):
                raise ConfMalformed(f"{what}: header {name_b[:40]!r} contains a control character")
            try:
                # only spaces and tabs are padding: any other byte is content
                headers.append((name_b.decode("ascii").lower(), value_b.decode("utf-8").strip(" \t")))
            except UnicodeDecodeError as exc:
                raise ConfMalformed(f"{what}: header is not text") from exc
        if nxt >= len(block):
            return headers, b""
        pos = nxt


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _only(headers: list[tuple[str, str]], allowed: set[str], what: str) -> None:
    """The unsigned envelope carries exactly the headers X-Road writes, each once."""
    names = [name for name, _ in headers]
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ConfMalformed(f"{what} has unexpected header(s) {', '.join(unknown)}")
    if len(names) != len(set(names)):
        raise ConfMalformed(f"{what} repeats a header")


def _multipart_type(value: str, expected: str, what: str) -> str:
    main, params = _params(value)
    if main.lower() != expected or "boundary" not in params:
        raise ConfMalformed(f"{what} must be {expected} with a boundary, got {main!r}")
    unknown = set(params) - {"boundary", "charset"}
    if unknown:
        raise ConfMalformed(f"{what} has unexpected parameter(s) {', '.join(sorted(unknown))}")
    if params.get("charset", "UTF-8").upper() != "UTF-8":
        raise ConfMalformed(f"{what} charset must be UTF-8")
    return params["boundary"]


def _params(value: str) -> tuple[str, dict[str, str]]:
    """``main; a=1; b="2"; c='3'`` -> ("main", {a, b, c}) (both quote styles)."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for chunk in rest.split(";"):
        if not chunk.strip(" \t"):
            continue
        m = _PARAM.fullmatch(chunk)
        if m is None:
            raise ConfMalformed(f"cannot read header parameter {chunk.strip()[:60]!r}")
        params[m.group(1).lower()] = next(g for g in m.groups()[1:] if g is not None)
    return head.strip(" \t"), params


Part = tuple[bytes, bytes]  # (header block as received, body)


def _split_multipart(body: bytes, boundary: str, what: str) -> tuple[list[Part], bool, bytes]:
    """Parts between delimiter lines (the line break before a delimiter belongs to it),
    cut by trust.protocol's one MIME reader; their header blocks are read by
    :func:`_part_headers`, whose rules are stricter than MIME's.

    Returns the parts, whether the closing delimiter was seen, and what follows its line.
    """
    try:
        whole = split_multipart(body, boundary, read_headers=raw_headers)
    except MimeError as exc:
        if exc.reason == "no_parts":
            raise ConfMalformed(f"{what}: no part delimited by boundary {boundary!r}") from exc
        raise ConfMalformed(f"{what}: {exc}") from exc
    if whole.preamble.strip(b"\r\n"):
        raise ConfMalformed(f"{what}: unexpected text before the first boundary")
    return [(headers.raw, data) for headers, data in whole.parts], whole.closed, whole.epilogue.lstrip(b" \t")


def _part_headers(part: Part, what: str) -> tuple[Headers, bytes]:
    """A part's headers by the rules of :func:`_split_head`, and its body."""
    raw, data = part
    headers, _ = _split_head(raw, what)
    return headers, data


def _b64decode(text: bytes | str, what: str) -> bytes:
    """Strict base64: line breaks allowed, anything else must be canonical.

    Canonical means re-encoding gives the same characters: otherwise the unused low
    bits of the last character could be changed without changing the value, and a
    byte of the document could be altered unnoticed.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    raw = raw.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t")
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfMalformed(f"{what} is not valid base64") from exc
    if base64.b64encode(value) != raw:
        raise ConfMalformed(f"{what} is not canonical base64")
    return value


def _parse_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfMissingExpiry(f"Expire-date {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ConfMissingExpiry(f"Expire-date {value!r} has no time zone")
    return moment


def _content_identifier(value: str) -> tuple[str, str | None]:
    name, params = _params(value)
    if not name:
        raise ConfMalformed("empty Content-identifier")
    return name, params.get("instance")
