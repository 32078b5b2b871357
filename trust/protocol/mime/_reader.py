"""The one multipart reader of sild: part headers, spooled part bodies, the streaming reader.

X-Road hashes and signs the *exact* bytes of the SOAP part (NOTES 9.1), so this reader
never re-encodes anything: it cuts parts out of the byte stream at the boundary
delimiters and hands back their bytes and their header lines as received. It works
on an iterable of byte chunks, so a proxy can feed it straight from the socket;
memory is bounded by the limits the caller passes (a SOAP part is bounded, an
attachment is spooled to a temporary file beyond a small in-memory threshold).

Both CRLF and bare LF line ends are accepted, as X-Road's own test messages use LF.
The standard library's ``email`` package is not used for bodies because it
normalises line ends and decodes transfer encodings, which would change the bytes.
Every multipart body sild reads goes through :class:`MultipartReader`: SOAP messages
with attachments and proxy messages as a stream (:func:`iter_parts`), signed
configuration directories and peers' OCSP answers whole (:func:`split_multipart`).
Content-Type values are read in :mod:`._content_type`, and part bodies are spooled by
:mod:`._spool`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generator, Iterable, Iterator

from ._content_type import MimeError
from ._spool import CHUNK, PartBody, _BodyWriter

DEFAULT_MAX_HEADER_BYTES = 64 * 1024

Events = Generator[tuple[str, object], None, bool]


# -- part headers ---------------------------------------------------------------------


@dataclass(frozen=True)
class PartHeaders:
    """The header lines of one MIME part, in order, names as received."""

    items: tuple[tuple[str, str], ...]
    raw: bytes = b""

    def get(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.items:
            if key.lower() == name:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.get("content-type")

    @property
    def content_id(self) -> str | None:
        value = self.get("content-id")
        if value is None:
            return None
        value = value.strip()
        return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def parse_part_headers(raw: bytes) -> PartHeaders:
    """Header block (without the blank line) to :class:`PartHeaders`; folded lines joined."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    items: list[list[str]] = []
    for line in lines:
        if not line:
            continue
        text = line.decode("latin-1")
        if text[:1] in (" ", "\t") and items:
            items[-1][1] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise MimeError(f"malformed MIME header line {text[:80]!r}", "malformed")
        items.append([name, value.strip()])
    return PartHeaders(tuple((k, v) for k, v in items), raw)


# -- the streaming multipart reader ------------------------------------------------------


class _Stream:
    """The reader's window on the chunk stream: a buffer, filled one chunk at a time."""

    __slots__ = ("buf", "source", "exhausted", "virtual", "parts")

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.buf = bytearray(b"\n")  # the first delimiter may start the stream
        self.source = iter(chunks)
        self.exhausted = False
        self.virtual = True  # buf starts with a "\n" we inserted, not preamble or body data
        self.parts = 0

    def fill(self) -> bool:
        """Append the next non-empty chunk; ``False`` once the stream is exhausted."""
        if self.exhausted:
            return False
        for chunk in self.source:
            if chunk:
                self.buf.extend(chunk)
                return True
        self.exhausted = True
        return False


@dataclass
class MultipartReader:
    """Incremental multipart reader over byte chunks.

    :meth:`events` yields ``("headers", PartHeaders)``, then ``("data", bytes)`` pieces
    of the part body, then ``("end", None)`` per part. The preamble before the first
    delimiter and the epilogue after the close delimiter are ignored, as RFC 2046 says.
    Raises :class:`MimeError` with reason ``no_parts`` when no delimiter occurs at all,
    ``malformed`` when the close delimiter is missing or a header block is broken.

    With ``whole`` the stream is a document read to its end (:func:`split_multipart`)
    rather than a message: the reader also reports what lies outside the parts, for
    callers whose rules look there (``("preamble", bytes)`` pieces, ``("close", None)``
    at the close delimiter, then ``("epilogue", bytes)`` pieces); a body that ends
    without its close delimiter ends its last part (``"end"``) instead of raising; and
    a part of header lines only, with no blank line before the next delimiter, is read
    as a part with an empty body (RFC 2046 allows it). A whole document must come as
    one chunk.

    ``read_headers`` turns a part's header block into :class:`PartHeaders`; a caller
    with stricter rules of its own passes one that only keeps the raw block.
    """

    boundary: str
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    whole: bool = False
    read_headers: Callable[[bytes], PartHeaders] = parse_part_headers
    _delimiter: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not self.boundary or len(self.boundary) > 200:
            raise MimeError("multipart boundary is missing or too long", "content_type")
        try:
            self._delimiter = b"\n--" + self.boundary.encode("latin-1")
        except UnicodeEncodeError:  # found by tests/fuzz: a boundary read from UTF-8 text
            raise MimeError("multipart boundary has a character outside Latin-1", "content_type") from None

    def events(self, chunks: Iterable[bytes]) -> Iterator[tuple[str, object]]:
        """The stream as events: up to a delimiter, its line, the part's headers, its body..."""
        stream = _Stream(chunks)
        in_body = False  # before the first delimiter: the preamble
        while (yield from self._through_delimiter(stream, in_body)):
            if not (yield from self._after_delimiter(stream)):
                return
            raw = self._cut_header_block(stream.buf, stream.fill)
            stream.parts += 1
            yield ("headers", self.read_headers(raw))
            # an empty body is directly followed by "--boundary": put a newline
            # back so the delimiter search finds it, and never emit that newline
            stream.buf[0:0] = b"\n"
            stream.virtual = True
            in_body = True

    def _through_delimiter(self, stream: _Stream, in_body: bool) -> Events:
        """Body (or preamble) bytes up to the next delimiter, which is consumed.

        Everything but the last delimiter's length is passed on as it arrives, so a
        large body is never held whole. Returns ``False`` when the stream ended first."""
        delim = self._delimiter
        buf = stream.buf
        while (index := buf.find(delim)) < 0:
            keep = len(delim) + 1
            if len(buf) > keep:
                cut = len(buf) - keep
                data = bytes(buf[1:cut] if stream.virtual else buf[:cut])
                stream.virtual = False
                if data and in_body:
                    yield ("data", data)
                elif data and self.whole:
                    yield ("preamble", data)
                del buf[:cut]
            if not stream.fill():
                yield from self._unterminated(stream, in_body)
                return False
        begin = 1 if stream.virtual else 0
        stream.virtual = False
        if in_body:
            end = index - 1 if index > 0 and buf[index - 1] == 0x0D else index
            if end > begin:
                yield ("data", bytes(buf[begin:end]))
            yield ("end", None)
        elif self.whole and index > begin:
            yield ("preamble", bytes(buf[begin:index]))
        del buf[: index + len(delim)]
        return True

    def _unterminated(self, stream: _Stream, in_body: bool) -> Iterator[tuple[str, object]]:
        """The stream ended with no further delimiter: an error, except for a whole document."""
        if not in_body:
            raise MimeError("no multipart boundary delimiter found", "no_parts")
        if not self.whole:
            raise MimeError("multipart body ends without its close delimiter", "malformed")
        data = bytes(stream.buf[1:] if stream.virtual else stream.buf)
        if data:
            yield ("data", data)
        yield ("end", None)

    def _after_delimiter(self, stream: _Stream) -> Events:
        """The rest of a delimiter line: ``--`` closes the body (``False``), a line end
        starts a part (``True``)."""
        buf = stream.buf
        while len(buf) < 2 and stream.fill():
            pass
        if not buf.strip(b" \t\r\n") and stream.exhausted and stream.parts > 0:
            return False  # a last delimiter without "--" at the very end: lenient, as X-Road
        if buf[:2] == b"--":
            if stream.parts == 0:
                raise MimeError("multipart body has no parts", "no_parts")
            if self.whole:
                yield ("close", None)
                del buf[:2]
                while buf or stream.fill():
                    yield ("epilogue", bytes(buf))
                    buf.clear()
            return False
        # transport padding, then the line end
        while b"\n" not in buf:
            if len(buf) > 1024 or not stream.fill():
                raise MimeError("malformed multipart delimiter line", "malformed")
        line_end = buf.index(b"\n")
        if buf[:line_end].strip(b" \t\r"):
            raise MimeError("multipart delimiter does not match the boundary", "malformed")
        del buf[: line_end + 1]
        return True

    def _cut_header_block(self, buf: bytearray, fill: Callable[[], bool]) -> bytes:
        """The header block at the start of ``buf`` (filled as needed), cut off with its blank line."""
        while True:
            if buf.startswith(b"\r\n") or buf.startswith(b"\n"):
                del buf[: 2 if buf.startswith(b"\r\n") else 1]
                return b""
            # the header block ends at the first blank line, CRLF or bare LF; search
            # for the second only up to the first, not through the whole body
            crlf = buf.find(b"\r\n\r\n", 0, self.max_header_bytes + 4)
            lf = buf.find(b"\n\n", 0, crlf if crlf >= 0 else self.max_header_bytes + 2)
            candidates = [(i, 4) for i in (crlf,) if i >= 0] + [(i, 2) for i in (lf,) if i >= 0]
            if self.whole:
                limit = min(candidates)[0] if candidates else len(buf)
                delim = self._delimiter
                at = 0 if buf.startswith(delim[1:]) else buf.find(delim, 0, limit)
                if at >= 0:  # header lines only: the delimiter stays for the body search
                    raw = bytes(buf[: at - 1 if at and buf[at - 1] == 0x0D else at])
                    del buf[:at]
                    return raw
            if candidates:
                pos, length = min(candidates)
                raw = bytes(buf[:pos])
                del buf[: pos + length]
                return raw
            if len(buf) > self.max_header_bytes:
                raise MimeError("MIME part headers are too large", "malformed")
            if not fill():
                raise MimeError("multipart body ends inside part headers", "malformed")


def iter_parts(
    chunks: Iterable[bytes],
    boundary: str,
    *,
    max_part_bytes: int,
    what: str = "MIME part",
    on_headers: Callable[[PartHeaders, int], None] | None = None,
) -> Iterator[tuple[PartHeaders, PartBody]]:
    """Parts of a multipart body, each spooled (bounded by ``max_part_bytes``).

    ``on_headers(headers, index)`` runs as soon as a part's headers are read, so a
    bad part is refused before its body (which may be large or never end) is read."""
    reader = MultipartReader(boundary)
    headers: PartHeaders | None = None
    writer: _BodyWriter | None = None
    index = 0
    for kind, value in reader.events(chunks):
        if kind == "headers":
            assert isinstance(value, PartHeaders)
            if on_headers is not None:
                on_headers(value, index)
            index += 1
            headers = value
            writer = _BodyWriter(max_part_bytes, what)
        elif kind == "data" and writer is not None:
            assert isinstance(value, bytes)
            writer.write(value)
        elif kind == "end" and writer is not None and headers is not None:
            yield headers, writer.finish()
            headers, writer = None, None


@dataclass(frozen=True)
class WholeMultipart:
    """A multipart body read whole: its parts (headers, exact body bytes) and what lies
    outside them. ``closed`` says whether the close delimiter came."""

    parts: tuple[tuple[PartHeaders, bytes], ...]
    preamble: bytes
    closed: bool
    epilogue: bytes


def raw_headers(raw: bytes) -> PartHeaders:
    """A header block kept as received and not parsed (``items`` empty), for
    :func:`split_multipart` callers that read header lines by rules of their own."""
    return PartHeaders((), raw)


def split_multipart(
    data: bytes, boundary: str, *, read_headers: Callable[[bytes], PartHeaders] = parse_part_headers
) -> WholeMultipart:
    """The parts of a multipart body held in memory, by the same reader as :func:`iter_parts`.

    For small documents whose own rules look outside the parts: a signed configuration
    directory refuses a preamble and an epilogue and tolerates an inner multipart
    without its close delimiter; a peer's OCSP answer keeps an unclosed last part. A
    missing close delimiter is therefore not an error here; ``closed`` reports it.
    Raises :class:`MimeError` (``no_parts``, ``malformed``, ``content_type``) otherwise."""
    parts: list[tuple[PartHeaders, bytes]] = []
    outside = {"preamble": bytearray(), "epilogue": bytearray()}
    headers: PartHeaders | None = None
    body = bytearray()
    closed = False
    for kind, value in MultipartReader(boundary, whole=True, read_headers=read_headers).events((data,)):
        if kind == "headers":
            assert isinstance(value, PartHeaders)
            headers, body = value, bytearray()
        elif kind == "data":
            assert isinstance(value, bytes)
            body += value
        elif kind == "end" and headers is not None:
            parts.append((headers, bytes(body)))
            headers = None
        elif kind == "close":
            closed = True
        elif kind in outside:
            assert isinstance(value, bytes)
            outside[kind] += value
    return WholeMultipart(tuple(parts), bytes(outside["preamble"]), closed, bytes(outside["epilogue"]))


def chunked(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """Bytes as an iterator of chunks (for callers that hold the whole body)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
