"""Byte-exact multipart framing of gateway-to-gateway messages and the REST header part.

X-Road's transport message is ``multipart/mixed``: OCSP responses of the sender's
auth chain (requests only), the message (SOAP bytes, or the REST header part and
body), optional hash-chain parts, and the signature ``signature/bdoc-1.0/ts``.
Signatures and ``requestHash`` cover the *exact* bytes of the parts, so parts are
framed and unframed as opaque bytes (``Content-Transfer-Encoding: binary``), never
re-encoded by a MIME library.

The REST header part (NOTES.md section 7) is UTF-8 with CRLF, ``Name:Value`` without a
space and no blank line at the end: ``VERB\\r\\n/r1/...?query\\r\\nName:Value...`` for
requests, ``200\\r\\nOK\\r\\nName:Value...`` for responses.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from .faults import XRoadFault

MIME_OCSP = "application/ocsp-response"
MIME_SIGNATURE = "signature/bdoc-1.0/ts"
MIME_REST_REQUEST = "application/x-road-rest-request"
MIME_REST_RESPONSE = "application/x-road-rest-response"
MIME_REST_BODY = "application/x-road-rest-body"
MIME_HASH_CHAIN_RESULT = "application/hash-chain-result"
MIME_HASH_CHAIN = "application/hash-chain"

_BOUNDARY_PARAM = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.I)


@dataclass(frozen=True)
class Part:
    content_type: str
    data: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()


def encode_multipart(parts: list[Part]) -> tuple[str, bytes]:
    """Frame parts as ``multipart/mixed``; returns (Content-Type, body)."""
    boundary = "jetty" + secrets.token_hex(12)
    out = bytearray()
    for part in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        out += b"Content-Type: " + part.content_type.encode("latin-1") + b"\r\n"
        out += b"Content-Transfer-Encoding: binary\r\n"
        for name, value in part.headers:
            out += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
        out += b"\r\n" + part.data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return f"multipart/mixed; charset=UTF-8; boundary={boundary}", bytes(out)


def decode_multipart(content_type: str, body: bytes, *, origin: str) -> list[Part]:
    """Split a ``multipart/mixed`` body into parts with their exact bytes."""
    m = _BOUNDARY_PARAM.search(content_type or "")
    if not content_type.lower().startswith("multipart/") or m is None:
        raise XRoadFault(f"{origin}.invalid_content_type", f"expected multipart, got {content_type[:80]!r}")
    delim = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    start = body.find(delim)
    if start < 0:
        raise XRoadFault(f"{origin}.invalid_message", "multipart body has no boundary")
    parts: list[Part] = []
    pos = start + len(delim)
    while True:
        if body[pos:pos + 2] == b"--":
            break
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise XRoadFault(f"{origin}.invalid_message", "truncated multipart body")
        head_end = body.find(b"\r\n\r\n", eol)
        if head_end < 0:
            raise XRoadFault(f"{origin}.invalid_message", "multipart part without header end")
        raw_headers = body[eol + 2:head_end].decode("latin-1")
        nxt = body.find(b"\r\n" + delim, head_end + 4)
        if nxt < 0:
            raise XRoadFault(f"{origin}.invalid_message", "multipart part without closing boundary")
        data = body[head_end + 4:nxt]
        headers: list[tuple[str, str]] = []
        ctype = "application/octet-stream"
        encoding = "binary"
        for line in raw_headers.split("\r\n") if raw_headers else []:
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "content-type":
                ctype = value
            elif name.lower() == "content-transfer-encoding":
                encoding = value.lower()
            else:
                headers.append((name, value))
        if encoding == "base64":
            data = base64.b64decode(b"".join(data.split()))
        parts.append(Part(ctype, data, tuple(headers)))
        pos = nxt + 2 + len(delim)
    return parts


# -- REST header part ---------------------------------------------------------------

@dataclass(frozen=True)
class RestHead:
    """The REST header part: request line (verb, target) or status; headers in order."""

    first: str  # verb, or status code
    second: str  # path?query, or reason phrase
    headers: tuple[tuple[str, str], ...]

    def to_bytes(self) -> bytes:
        lines = [self.first, self.second] + [f"{n}:{v}" for n, v in self.headers]
        return "\r\n".join(lines).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes, *, origin: str) -> "RestHead":
        try:
            lines = data.decode("utf-8").split("\r\n")
        except UnicodeDecodeError as exc:
            raise XRoadFault(f"{origin}.invalid_message", "REST header part is not UTF-8") from exc
        if len(lines) < 2:
            raise XRoadFault(f"{origin}.invalid_message", "REST header part too short")
        headers = []
        for line in lines[2:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise XRoadFault(f"{origin}.invalid_message", "malformed header in REST header part")
            headers.append((name, value))
        return cls(lines[0], lines[1], tuple(headers))

    def header(self, name: str) -> str | None:
        found = None
        for n, v in self.headers:
            if n.lower() == name.lower():
                found = v  # the last one wins, as in X-Road
        return found


def rest_request_hash(head: bytes, body: bytes | None) -> str:
    """``X-Road-Request-Hash``: b64 SHA-512(SHA-512(head) || SHA-512(body)), or of head alone."""
    if body:
        digest = hashlib.sha512(hashlib.sha512(head).digest() + hashlib.sha512(body).digest()).digest()
    else:
        digest = hashlib.sha512(head).digest()
    return base64.b64encode(digest).decode("ascii")


def soap_request_hash(message: bytes) -> str:
    return base64.b64encode(hashlib.sha512(message).digest()).decode("ascii")
