"""Taking a backup of a running node: one archive file, its manifest last, optionally encrypted.

The archive is a gzip-compressed tar (``tar tzf`` lists a plain one), so an operator
can look inside without sild; an encrypted one is that tar inside :mod:`._crypto`.
What goes in, walking the node directory:

* every SQLite database (found by its header, whatever its name) as a snapshot of
  one commit (:func:`._databases.snapshot_sqlite`), taken while the node serves;
  its ``-wal``, ``-shm`` and ``-journal`` files stay out: the snapshot already holds
  what they held, and a restored database starts without them;
* every other regular file and symlink: settings, the soft token's keys, PIN files
  of a sandbox, certificates and CSRs, the anchor, message-log archives, published
  configuration. Files are replaced by atomic renames (``trust.infra.write_atomic``),
  so each file read is one version of it;
* databases on a PostgreSQL server, as ``pg_dump`` files (:class:`NodeKind`
  ``server_databases``).

What stays out, and why: sockets, pipes and devices (not data); ``*.log`` and
``*.pid`` files and ``*.lock`` files (about the process that ran, not the node);
``__pycache__``; the entries the role names as rebuilt (a gateway's downloaded
global configuration: it is replaced, generation by generation, while the node
runs, and the node downloads and verifies it again at start). Files that vanish
during the walk (an old generation cleaned up) are left out as well.

The archive is written beside ``out`` under a hidden temporary name and renamed into
place when complete: a failed backup leaves no file that looks like a backup.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trust.infra import fsync_directory, utc_now

from ._crypto import EncryptingWriter
from ._databases import SIDECARS, dump_postgresql, is_sqlite, snapshot_sqlite, sqlite_inside
from ._errors import BackupError
from ._manifest import DUMPS, MANIFEST, NODE, DumpEntry, FileEntry, Manifest, NodeKind

_SKIP_SUFFIXES = (".log", ".pid", ".lock") + SIDECARS
_SKIP_NAMES = frozenset({"__pycache__"})
_BLOCK = 1 << 20


def _skipped(name: str) -> bool:
    return name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES)


class _HashingReader:
    """What ``tarfile.addfile`` reads a member from: the file, digested on the way."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class _Writer:
    """Adds members to the tar and records them for the manifest."""

    def __init__(self, tar: tarfile.TarFile, scratch: Path, mtime: int) -> None:
        self.tar, self.scratch, self.mtime = tar, scratch, mtime
        self.files: list[FileEntry] = []
        self.dumps: list[DumpEntry] = []

    def _add_file(self, arcname: str, handle: BinaryIO, size: int, mode: int, mtime: float | None = None) -> str:
        info = tarfile.TarInfo(arcname)
        info.size, info.mode = size, stat.S_IMODE(mode)
        info.mtime = int(mtime) if mtime is not None else self.mtime
        reader = _HashingReader(handle)
        self.tar.addfile(info, reader)
        return reader.digest.hexdigest()

    def directory(self, arcname: str, mode: int) -> None:
        info = tarfile.TarInfo(arcname)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, stat.S_IMODE(mode), self.mtime
        self.tar.addfile(info)

    def regular(self, rel: str, path: Path) -> None:
        if is_sqlite(path):
            copy = self.scratch / f"db-{len(self.files)}"
            snapshot_sqlite(path, copy)
            with copy.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                sha = self._add_file(f"{NODE}/{rel}", handle, size, path.stat().st_mode)  # mtime: the snapshot's
            copy.unlink()
            self.files.append(FileEntry(rel, "sqlite", size, sha))
            return
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return  # replaced or removed while we walked: not part of the node any more
        with handle:
            st = os.fstat(handle.fileno())
            sha = self._add_file(f"{NODE}/{rel}", handle, st.st_size, st.st_mode, st.st_mtime)
        self.files.append(FileEntry(rel, "file", st.st_size, sha))

    def symlink(self, rel: str, path: Path) -> None:
        info = tarfile.TarInfo(f"{NODE}/{rel}")
        info.type, info.linkname, info.mtime = tarfile.SYMTYPE, os.readlink(path), self.mtime
        self.tar.addfile(info)
        self.files.append(FileEntry(rel, "symlink", target=info.linkname))

    def dump(self, name: str, url: str) -> None:
        target = self.scratch / f"{name}.dump"
        dump_postgresql(url, target)
        with target.open("rb") as handle:
            sha = self._add_file(f"{DUMPS}/{name}.dump", handle, os.fstat(handle.fileno()).st_size, 0o600)
        target.unlink()
        self.dumps.append(DumpEntry(name, f"{DUMPS}/{name}.dump", sha))


def _kept(writer: _Writer, root: Path, rebuilt: str, keep: frozenset[str]) -> None:
    """The files of a rebuilt directory that are state all the same (``NodeKind.keep``)."""
    wanted = sorted(rel for rel in keep if rel.rpartition("/")[0] == rebuilt)
    present = [rel for rel in wanted if (root / rel).is_file() and not (root / rel).is_symlink()]
    if present:
        writer.directory(f"{NODE}/{rebuilt}", (root / rebuilt).stat().st_mode)
    for rel in present:
        writer.regular(rel, root / rel)


def _walk(writer: _Writer, root: Path, kind: NodeKind) -> None:
    writer.directory(NODE, root.stat().st_mode)
    pending = [root]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            if _skipped(entry.name):
                continue
            if current == root and entry.name in kind.rebuilt:
                _kept(writer, root, entry.name, kind.keep)
                continue
            if entry.is_symlink():
                writer.symlink(rel, path)
            elif entry.is_dir():
                writer.directory(f"{NODE}/{rel}", entry.stat().st_mode)
                pending.append(path)
            elif entry.is_file():
                writer.regular(rel, path)


def write_backup(directory: Path, out: Path, kind: NodeKind, *, passphrase: str | None = None,
                 clock: Callable[[], dt.datetime] = utc_now) -> Manifest:
    """Back up the node in ``directory`` (running or not) into the archive file ``out``.

    Returns the manifest written. ``passphrase`` encrypts the archive. Raises the
    role's error for a directory that is not its node, :class:`BackupError` when a
    file cannot be read or written or a PostgreSQL tool is missing.
    """
    directory, out = Path(directory), Path(out)
    identity = kind.identity(directory)
    if out.resolve().is_relative_to(directory.resolve()):
        raise BackupError(f"write the backup outside the node directory, not to {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=str(out.parent))
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=str(out.parent)))
    try:
        with os.fdopen(fd, "wb") as sink:
            stream: BinaryIO = sink
            encrypting = EncryptingWriter(sink, passphrase) if passphrase is not None else None
            if encrypting is not None:
                stream = encrypting  # type: ignore[assignment]
            # level 1: a message log compresses well enough, and the node serves meanwhile on the same cores
            with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=1, mtime=0) as gz, \
                    tarfile.open(fileobj=gz, mode="w|") as tar:
                created = clock()
                writer = _Writer(tar, scratch, int(created.timestamp()))
                _walk(writer, directory, kind)
                for name, url in sorted(kind.server_databases(directory).items()):
                    if not sqlite_inside(url, directory):
                        writer.dump(name, url)
                manifest = Manifest(kind.role, identity, created, tuple(writer.files), tuple(writer.dumps))
                data = manifest.to_json()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(manifest.created_at.timestamp())
                tar.addfile(info, io.BytesIO(data))
            if encrypting is not None:
                encrypting.close()
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(tmp_name, 0o600)  # it holds the node's keys
        os.replace(tmp_name, out)
        fsync_directory(out.parent, best_effort=True)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise BackupError(f"backup of {directory} failed: {exc}") from exc
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


@dataclass(frozen=True)
class Download:
    """A backup ready to be sent: its bytes in chunks, its size, a file name and a media type."""

    chunks: Iterator[bytes]
    size: int
    filename: str
    content_type: str
    manifest: Manifest


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while block := handle.read(_BLOCK):
            yield block


def backup_download(directory: Path, kind: NodeKind, *, passphrase: str | None = None) -> Download:
    """A backup for an HTTP answer (both admin APIs): written to a temporary file first, since
    its size is known only at the end and a tar cannot be pulled, then unlinked at once and
    read from its open handle, so nothing is left behind however the download ends."""
    scratch = Path(tempfile.mkdtemp(prefix="sild-backup-"))
    try:
        manifest = write_backup(directory, scratch / "backup", kind, passphrase=passphrase)
        handle = (scratch / "backup").open("rb")
        size = os.fstat(handle.fileno()).st_size
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the open handle keeps the file readable
    name = f"{manifest.identity.replace('/', '_')}-{manifest.created_at:%Y%m%dT%H%M%SZ}"
    if passphrase is not None:
        return Download(_chunks(handle), size, name + ".bak", "application/octet-stream", manifest)
    return Download(_chunks(handle), size, name + ".tar.gz", "application/gzip", manifest)
