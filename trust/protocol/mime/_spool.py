"""Spooled part bodies: a part's bytes in memory, or in a temporary file once large.

Every part a multipart reader cuts out lands here. The SHA-512 digest is computed
while the bytes arrive, in the same pass that stores them: signatures, hash chains
and the message log need it, and an attachment of gigabytes must not be read twice
to hash it. Small parts (a SOAP envelope, an OCSP response, a signature) stay in
memory; only a body that outgrows ``SPOOL_THRESHOLD`` gets a file.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from typing import IO, Iterable, Iterator

from ._content_type import MimeError

SPOOL_THRESHOLD = 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True, eq=False)
class PartBody:
    """Bytes of one part kept in memory up to a threshold, then in a temporary file.

    The SHA-512 digest is computed while the bytes arrive (signatures and hash
    chains need it), so nobody has to read an attachment twice to hash it.
    """

    _file: IO[bytes]
    size: int
    sha512: bytes

    def iter_chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        self._file.seek(0)
        while True:
            chunk = self._file.read(chunk_size)
            if not chunk:
                return
            yield chunk

    def read(self) -> bytes:
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        self._file.close()


class _BodyWriter:
    """Collects a part body: in memory up to ``SPOOL_THRESHOLD``, then in a temporary file.

    Most parts (a SOAP envelope, an OCSP response, a signature) are a few KiB and
    arrive in one piece, so the file is only created once a body outgrows memory."""

    def __init__(self, limit: int, what: str) -> None:
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self._hash = hashlib.sha512()
        self._size = 0
        self._limit = limit
        self._what = what

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            if self._file is not None:
                self._file.close()
            self._chunks.clear()
            raise MimeError(f"{self._what} is larger than the limit of {self._limit} bytes", "too_large")
        self._hash.update(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        if self._size > SPOOL_THRESHOLD:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by PartBody.close
            self._file.writelines(self._chunks)
            self._chunks.clear()

    def finish(self) -> PartBody:
        if self._file is None:
            return PartBody(io.BytesIO(b"".join(self._chunks)), self._size, self._hash.digest())
        return PartBody(self._file, self._size, self._hash.digest())


def spool(chunks: Iterable[bytes], *, limit: int, what: str = "body") -> PartBody:
    writer = _BodyWriter(limit, what)
    for chunk in chunks:
        writer.write(chunk)
    return writer.finish()
