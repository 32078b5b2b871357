"""Passphrase encryption of a backup archive: authenticated, streamed, bounded.

A backup holds the node's private keys (PIN-encrypted in the soft token, but the PIN
is often kept near the backup) and its whole message log, so an operator who ships
backups off the machine encrypts them. The format is sild's own, small enough to read
here in full::

    header  = b"SILDBAK" 0x01 | log2(n) r p (1 byte each) | salt (16) | nonce prefix (8) | chunk size (4, BE)
    check   = AES-256-GCM tag over nothing, nonce = prefix || 0xFFFFFFFF, AAD = header
    records = flag (1: 0 = more, 1 = last) | length (4, BE) | AES-256-GCM(chunk)
              nonce = prefix || index (4, BE), AAD = header || flag

The key is scrypt(passphrase, salt) (RFC 7914; n = 2**15, r = 8, p = 1: about 32 MiB
and a tenth of a second, so guessing is slow). Why each part:

* the *check* tag is verified before any data, so a wrong passphrase is told apart
  from a damaged archive ("wrong passphrase" vs "damaged at record N");
* every record is authenticated on its own, so a reader never hands out a byte that
  was not verified, and memory stays at one chunk (1 MiB) whatever the archive's size;
* the index in the nonce and the *last* flag in the AAD make reordered, dropped or
  truncated records fail: an archive must end with exactly one last record;
* the header (scrypt cost, chunk size) is in every AAD, and its values are bounded
  before use, so a forged header can neither be swapped in nor make the reader
  allocate or compute without limit.

``cryptography``'s AESGCM and Scrypt do the cryptography; nothing here is new.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._errors import BackupDamaged, BackupError

MAGIC = b"SILDBAK\x01"
_HEADER = struct.Struct(">8sBBB16s8sI")
_RECORD = struct.Struct(">BI")
CHUNK = 1 << 20
SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P = 15, 8, 1
# bounds on what a header may ask for: scrypt memory 128 * r * 2**log2n (<= 256 MiB), chunks <= 16 MiB
_MAX_LOG2N, _MAX_R, _MAX_P, _MAX_CHUNK = 20, 16, 4, 1 << 24
_TAG = 16
_CHECK_INDEX = 0xFFFFFFFF


def is_encrypted(first_bytes: bytes) -> bool:
    return first_bytes.startswith(MAGIC)


def archive_is_encrypted(path: Path) -> bool:
    """Whether the backup file ``path`` is encrypted (a CLI then asks for the passphrase)."""
    try:
        with Path(path).open("rb") as handle:
            return is_encrypted(handle.read(len(MAGIC)))
    except OSError as exc:
        raise BackupError(f"cannot read backup {path}: {exc.strerror or exc}") from exc


def passphrase_from_env(variable: str, environ: Mapping[str, str] | None = None) -> str:
    """The passphrase in environment variable ``variable``: never on a command line, where ``ps`` shows it."""
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise BackupError(f"the environment variable {variable} holds no passphrase")
    return value


def _key(passphrase: str, salt: bytes, log2n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise BackupError("an empty passphrase is not a passphrase")
    return Scrypt(salt=salt, length=32, n=2 ** log2n, r=r, p=p).derive(passphrase.encode())


class EncryptingWriter:
    """A write-only file object: bytes written are encrypted in chunks onto ``sink``.

    :meth:`close` writes the last record; it does not close ``sink``.
    """

    def __init__(self, sink: BinaryIO, passphrase: str, *, chunk: int = CHUNK) -> None:
        salt, prefix = os.urandom(16), os.urandom(8)
        self._header = _HEADER.pack(MAGIC, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P, salt, prefix, chunk)
        self._aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P))
        self._prefix, self._chunk, self._sink = prefix, chunk, sink
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        sink.write(self._header)
        sink.write(self._aead.encrypt(prefix + _CHECK_INDEX.to_bytes(4, "big"), b"", self._header))

    def _emit(self, data: bytes, last: bool) -> None:
        if self._index >= _CHECK_INDEX:
            raise BackupError("backup too large for one encrypted archive")
        flag = 1 if last else 0
        nonce = self._prefix + self._index.to_bytes(4, "big")
        sealed = self._aead.encrypt(nonce, data, self._header + bytes([flag]))
        self._sink.write(_RECORD.pack(flag, len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        self._buffer += data
        while len(self._buffer) > self._chunk:  # keep one chunk back: the last record may be full
            self._emit(bytes(self._buffer[: self._chunk]), False)
            del self._buffer[: self._chunk]
        return len(data)

    def flush(self) -> None:
        """Nothing to flush before :meth:`close`: records are whole chunks."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._emit(bytes(self._buffer), True)
            self._buffer.clear()


class DecryptingReader:
    """A read-only file object over an encrypted archive; every byte it returns was authenticated.

    Raises :class:`BackupDamaged` for a wrong passphrase (the check tag) and for any
    changed, missing, reordered or extra record.
    """

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size or not header.startswith(MAGIC):
            raise BackupDamaged("not an encrypted sild backup (its header is missing or cut short)")
        _magic, log2n, r, p, salt, prefix, chunk = _HEADER.unpack(header)
        if not (10 <= log2n <= _MAX_LOG2N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P and 1 <= chunk <= _MAX_CHUNK):
            raise BackupDamaged("the encrypted backup's header asks for parameters out of bounds")
        self._aead = AESGCM(_key(passphrase, salt, log2n, r, p))
        try:
            self._aead.decrypt(prefix + _CHECK_INDEX.to_bytes(4, "big"), source.read(_TAG), header)
        except InvalidTag:
            raise BackupDamaged("wrong passphrase (or the backup's header is damaged)") from None
        self._header, self._prefix, self._chunk, self._source = header, prefix, chunk, source
        self._buffer = b""
        self._pos = 0
        self._index = 0
        self._done = False

    def _next(self) -> None:
        head = self._source.read(_RECORD.size)
        if len(head) < _RECORD.size:
            raise BackupDamaged(f"the encrypted backup is cut short before its last record (record {self._index})")
        flag, length = _RECORD.unpack(head)
        if flag not in (0, 1) or not _TAG <= length <= self._chunk + _TAG:
            raise BackupDamaged(f"the encrypted backup is damaged at record {self._index}")
        sealed = self._source.read(length)
        nonce = self._prefix + self._index.to_bytes(4, "big")
        try:
            self._buffer = self._aead.decrypt(nonce, sealed, self._header + bytes([flag]))
            self._pos = 0
        except InvalidTag:
            raise BackupDamaged(f"the encrypted backup is damaged at record {self._index}") from None
        self._index += 1
        if flag == 1:
            self._done = True
            if self._source.read(1):
                raise BackupDamaged("the encrypted backup has bytes after its last record")

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            left = len(self._buffer) - self._pos
            if not left:
                if self._done:
                    break
                self._next()
                continue
            take = left if size < 0 else min(size - len(out), left)
            out += self._buffer[self._pos:self._pos + take]
            self._pos += take
        return bytes(out)
