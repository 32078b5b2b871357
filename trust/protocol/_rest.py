"""REST message protocol r1 (NOTES 3, 7): paths, X-Road headers, header parts, hashes.

* :func:`parse_path` reads ``/r1/{INST}/{CLASS}/{MEMBER}/{SUB}/{SERVICE}[/path]``; each
  identifier part is percent-decoded on its own, the rest of the path is kept raw
  (it is appended to the provider's service URL as the client wrote it) after
  :func:`check_service_path` refused anything a backend could read as another path.
* :func:`check_xroad_header_sizes` bounds ``X-Road-Id``, ``-UserId`` and ``-Issue`` as
  the SOAP reader bounds their SOAP twins.
* :func:`read_xroad_headers` reads ``X-Road-*`` request headers (the last
  ``X-Road-Client`` wins, as in X-Road).
* :func:`filter_headers` drops ``Host``, ``User-Agent``, ``Server``, ``Content-Length``,
  ``Expect`` and hop-by-hop headers; everything else (``Authorization`` too) passes.
* :func:`request_header_part` / :func:`response_header_part` write the exact bytes that
  gateways sign and log: UTF-8, CRLF, ``Name:Value`` without a space, no blank line
  at the end. :func:`parse_header_part` reads them back.
* :func:`rest_request_hash` computes ``X-Road-Request-Hash``; :class:`HashingBody`
  streams a body while hashing it, so no body is ever buffered whole.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from trust.protocol import _faults as faults
from ._faults import XRoadFault
from trust.errors import IdentifierError
from ._identifiers import ClientId, RepresentedParty, SecurityServerId, ServiceId
from ._identifiers_text import parse_client, parse_server

PROTOCOL_PREFIX = "r1"
T = TypeVar("T")

H_CLIENT = "X-Road-Client"
H_SERVICE = "X-Road-Service"
H_ID = "X-Road-Id"
H_USER_ID = "X-Road-UserId"
H_ISSUE = "X-Road-Issue"
H_SECURITY_SERVER = "X-Road-Security-Server"
H_REPRESENTED_PARTY = "X-Road-Represented-Party"
H_REQUEST_ID = "X-Road-Request-Id"
H_REQUEST_HASH = "X-Road-Request-Hash"
H_ERROR = "X-Road-Error"

DROPPED = frozenset({"host", "user-agent", "server", "content-length", "expect"})
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade", "proxy-authenticate",
     "proxy-authorization", "proxy-connection"}
)
# set by the gateways themselves, never taken from the IS
GATEWAY_SET = frozenset({"x-road-request-id", "x-road-request-hash"})

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024 * 1024
PATH_FORM = "/r1/{instance}/{class}/{member}/{subsystem}/{service}[/path]"
MAX_HEADER_FIELD_CHARS = 255  # as the SOAP header's id, userId and issue (trust.protocol._soap_header)
MAX_PATH_CHARS = 8192

# What a backend (or a proxy in front of it) may read as another path than the one the
# access rights were matched against: encoded dots, slashes, backslashes, percent signs
# (double encoding) and NUL; raw backslashes and control characters.
_ENCODED_TRAPS = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)
_RAW_TRAPS = re.compile(r"[\\\x00-\x1f\x7f]")


Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RestTarget:
    """A parsed r1 request target."""

    service: ServiceId
    path: str  # the rest of the path, raw (percent-encoded as received), "" or "/..."
    query: str | None  # raw query string without "?"

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query is not None else "")


def parse_path(path: str, query: str | None = None, *,
               identifier_fault: str = faults.INVALID_SERVICE_IDENTIFIER) -> RestTarget:
    """Read ``/r1/INST/CLASS/MEMBER/SUB/SERVICE[/rest]``; ``query`` may also be part of ``path``.

    ``path`` is the raw (still percent-encoded) target. The subsystem is required (X-Road's
    parser needs all seven segments). The rest of the path passes :func:`check_service_path`.
    A malformed identifier is ``identifier_fault``.
    """
    if query is None and "?" in path:
        path, query = path.split("?", 1)
    if len(path) > MAX_PATH_CHARS:
        raise XRoadFault(faults.INVALID_REQUEST, f"REST path is longer than {MAX_PATH_CHARS} characters")
    segments = path.split("/")
    if len(segments) < 7 or segments[0] != "" or segments[1] != PROTOCOL_PREFIX:
        raise XRoadFault(faults.INVALID_REQUEST, f"REST path must be {PATH_FORM}; the subsystem is required")
    parts = [urllib.parse.unquote(p) for p in segments[2:7]]
    if any(not p for p in parts):
        raise XRoadFault(faults.INVALID_REQUEST, f"REST path has an empty identifier part; it must be {PATH_FORM}")
    try:
        service = ServiceId(parts[0], parts[1], parts[2], parts[3], parts[4])
    except IdentifierError as exc:
        raise XRoadFault(identifier_fault, f"invalid service identifier in path: {exc}") from None
    rest = ("/" + "/".join(segments[7:])) if len(segments) > 7 else ""
    check_service_path(rest)
    return RestTarget(service, rest, query)


def check_service_path(path: str) -> None:
    """Refuse a service path (what follows ``/r1/.../SERVICE``) that a backend could read
    as another path than the one the access rights are matched against (issue 15).

    sild refuses instead of normalising (RFC 3986, 5.2.4): a path with ``.`` or ``..``
    segments (also ``..;x``, which Java servers read as ``..``), encoded dots, slashes,
    backslashes or percent signs (``%2e``, ``%2f``, ``%5c``, ``%25``), an encoded or raw
    NUL, a backslash or a control character is ``invalid_request``. Every backend and
    proxy in front of it then reads the path the provider's gateway decided on, whatever
    its own normalisation; a client has no reason to send such a path.
    """
    found = _ENCODED_TRAPS.search(path)
    if found is not None:
        raise XRoadFault(faults.INVALID_REQUEST,
                         f"REST path must not contain the encoded character {found.group()!r}")
    if _RAW_TRAPS.search(path):
        raise XRoadFault(faults.INVALID_REQUEST, "REST path must not contain a backslash or a control character")
    for segment in path.split("/"):
        if segment.split(";", 1)[0] in (".", ".."):
            raise XRoadFault(faults.INVALID_REQUEST, f"REST path must not contain the segment {segment[:20]!r}")


def check_xroad_header_sizes(headers: Headers) -> None:
    """``X-Road-Id``, ``X-Road-UserId`` and ``X-Road-Issue`` at most
    :data:`MAX_HEADER_FIELD_CHARS` characters (``invalid_request``), checked before signing."""
    for name in (H_ID, H_USER_ID, H_ISSUE):
        value = _last(headers, name)
        if value is not None and len(value) > MAX_HEADER_FIELD_CHARS:
            raise XRoadFault(faults.INVALID_REQUEST, f"header {name} is longer than {MAX_HEADER_FIELD_CHARS} characters")


def service_path(service: ServiceId) -> str:
    """``/r1/INST/CLASS/MEMBER/SUB/SERVICE``, each part percent-encoded on its own."""
    if service.subsystem_code is None:
        raise ValueError("REST services belong to a subsystem")
    parts = (service.instance, service.member_class, service.member_code, service.subsystem_code, service.service_code)
    return "/r1/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


@dataclass(frozen=True)
class XRoadRestHeaders:
    client: ClientId
    query_id: str | None = None
    user_id: str | None = None
    issue: str | None = None
    security_server: SecurityServerId | None = None
    represented_party: RepresentedParty | None = None


def _last(headers: Headers, name: str) -> str | None:
    lowered = name.lower()
    value = None
    for key, item in headers:
        if key.lower() == lowered:
            value = item
    return value


def header_value(headers: Headers, name: str) -> str | None:
    """The last value of header ``name`` (case-insensitive)."""
    return _last(headers, name)


def _parse_header(raw: str, name: str, parse: Callable[[str], T], fault: str) -> T:
    """The value ``raw`` of identifier header ``name``, read with ``parse``; a malformed one is ``fault``."""
    try:
        return parse(raw)
    except IdentifierError as exc:
        raise XRoadFault(fault, f"invalid {name}: {exc}") from None


def read_xroad_headers(headers: Headers) -> XRoadRestHeaders:
    """The ``X-Road-*`` request headers; a missing or bad ``X-Road-Client`` is refused."""
    raw_client = _last(headers, H_CLIENT)
    if raw_client is None or not raw_client.strip():
        raise XRoadFault(faults.MISSING_HEADER_FIELD, "the X-Road-Client header is missing")
    client = _parse_header(raw_client, H_CLIENT, parse_client, faults.INVALID_CLIENT_IDENTIFIER)
    raw_server = _last(headers, H_SECURITY_SERVER)
    server = (_parse_header(raw_server, H_SECURITY_SERVER, parse_server, faults.INVALID_SECURITY_SERVER)
              if raw_server else None)
    raw_party = _last(headers, H_REPRESENTED_PARTY)
    party = (_parse_header(raw_party, H_REPRESENTED_PARTY, RepresentedParty.parse, faults.INVALID_REQUEST)
             if raw_party else None)
    return XRoadRestHeaders(
        client=client,
        query_id=_last(headers, H_ID),
        user_id=_last(headers, H_USER_ID),
        issue=_last(headers, H_ISSUE),
        security_server=server,
        represented_party=party,
    )


def filter_headers(headers: Headers, *, drop_gateway_set: bool = True) -> list[tuple[str, str]]:
    """Headers that pass between IS and gateway: order and spelling kept.

    Drops ``Host``, ``User-Agent``, ``Server``, ``Content-Length``, ``Expect``, hop-by-hop
    headers and any header named in ``Connection``; with ``drop_gateway_set`` also an
    incoming ``X-Road-Request-Id``/``-Hash`` (only gateways set those)."""
    named_in_connection: set[str] = set()
    for key, value in headers:
        if key.lower() == "connection":
            named_in_connection.update(v.strip().lower() for v in value.split(",") if v.strip())
    out = []
    for key, value in headers:
        lowered = key.lower()
        if lowered in DROPPED or lowered in HOP_BY_HOP or lowered in named_in_connection:
            continue
        if drop_gateway_set and lowered in GATEWAY_SET:
            continue
        out.append((key, value))
    return out


def consumer_request_headers(headers: Headers, *, request_id: str, query_id: str) -> list[tuple[str, str]]:
    """What the consumer gateway puts in the request header part: the IS headers filtered,
    then ``X-Road-Request-Id`` and, when the IS sent none, ``X-Road-Id`` (NOTES 7).

    ``query_id`` is used only when the IS gave no ``X-Road-Id``; X-Road makes it
    ``{instance}-{uuid}``, the caller passes it so randomness stays outside."""
    out = filter_headers(headers)
    if _last(out, H_ID) is None:
        out.append((H_ID, query_id))
    out.append((H_REQUEST_ID, request_id))
    return out


def provider_response_headers(
    headers: Headers,
    *,
    client: ClientId,
    service: ServiceId,
    query_id: str,
    request_id: str,
    request_hash: str,
) -> list[tuple[str, str]]:
    """The provider IS response headers filtered, plus what the provider gateway adds:
    ``X-Road-Client``, ``X-Road-Service``, ``X-Road-Id``, ``X-Road-Request-Id`` and
    ``X-Road-Request-Hash`` (any IS-supplied copies of these are dropped first)."""
    added = {h.lower() for h in (H_CLIENT, H_SERVICE, H_ID, H_REQUEST_ID, H_REQUEST_HASH)}
    out = [(k, v) for k, v in filter_headers(headers) if k.lower() not in added]
    out += [
        (H_CLIENT, client.to_text()),
        (H_SERVICE, service.to_text()),
        (H_ID, query_id),
        (H_REQUEST_ID, request_id),
        (H_REQUEST_HASH, request_hash),
    ]
    return out


# -- header parts ---------------------------------------------------------------------


def _header_lines(headers: Headers) -> list[str]:
    lines = []
    for name, value in headers:
        if any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise XRoadFault(faults.INVALID_REQUEST, f"header {name!r} cannot be carried (line break or colon)")
        lines.append(f"{name}:{value}")
    return lines


def request_header_part(method: str, path_and_query: str, headers: Headers) -> bytes:
    """``VERB\\r\\n/r1/...?query\\r\\nName:Value...`` (UTF-8, no trailing blank line)."""
    if not method or not method.isalpha():
        raise XRoadFault(faults.INVALID_HTTP_METHOD, f"invalid HTTP method {method!r}")
    return "\r\n".join([method.upper(), path_and_query, *_header_lines(headers)]).encode("utf-8")


def response_header_part(status: int, reason: str, headers: Headers) -> bytes:
    """``200\\r\\nOK\\r\\nName:Value...`` (UTF-8, no trailing blank line)."""
    return "\r\n".join([str(int(status)), reason, *_header_lines(headers)]).encode("utf-8")


@dataclass(frozen=True)
class HeaderPart:
    """A decoded REST header part; ``raw`` are the exact bytes (what is signed)."""

    raw: bytes
    request: bool
    method: str | None
    path: str | None
    status: int | None
    reason: str | None
    headers: tuple[tuple[str, str], ...]


def parse_header_part(raw: bytes, *, request: bool) -> HeaderPart:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise XRoadFault(faults.INVALID_MESSAGE, "REST header part is not UTF-8") from None
    lines = text.split("\r\n")
    if len(lines) < 2:
        raise XRoadFault(faults.INVALID_MESSAGE, "REST header part is too short")
    headers = []
    for line in lines[2:]:
        name, sep, value = line.partition(":")
        if not sep or not name:
            raise XRoadFault(faults.INVALID_MESSAGE, f"malformed REST header line {line[:60]!r}")
        headers.append((name, value))
    if request:
        return HeaderPart(raw, True, lines[0], lines[1], None, None, tuple(headers))
    try:
        status = int(lines[0])
    except ValueError:
        raise XRoadFault(faults.INVALID_MESSAGE, f"invalid REST status {lines[0][:20]!r}") from None
    return HeaderPart(raw, False, None, None, status, lines[1], tuple(headers))


# -- hashes and streamed bodies -------------------------------------------------------------


def rest_request_hash(header_part: bytes, body_sha512: bytes | None) -> str:
    """``X-Road-Request-Hash``: b64(SHA512(SHA512(headerPart) || SHA512(body))), or
    b64(SHA512(headerPart)) when the request had no body."""
    head = hashlib.sha512(header_part).digest()
    if body_sha512 is None:
        return base64.b64encode(head).decode("ascii")
    return base64.b64encode(hashlib.sha512(head + body_sha512).digest()).decode("ascii")


class HashingBody:
    """Iterate a body's chunks while computing SHA-512 and counting bytes, with a bound.

    ``digest`` is available once iteration finished; ``None`` when the body was empty
    (X-Road treats an empty body as no body)."""

    def __init__(self, chunks: Iterable[bytes], *, limit: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self._chunks = chunks
        self._hash = hashlib.sha512()
        self._limit = limit
        self.size = 0
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._limit:
                raise XRoadFault(faults.INVALID_REQUEST, f"message body is larger than {self._limit} bytes")
            self._hash.update(chunk)
            yield chunk
        self.finished = True

    @property
    def digest(self) -> bytes | None:
        if not self.finished:
            raise RuntimeError("the body has not been read to its end")
        return self._hash.digest() if self.size else None
