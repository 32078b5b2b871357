"""Restoring a node from a backup: checked in full beside the directory, then swapped in at once.

Nothing of the node directory changes until the whole archive has been read,
decrypted and authenticated (:mod:`._crypto`), every file has matched its digest in
the manifest, and every restored SQLite database has passed SQLite's own check. The
archive is unpacked into a hidden directory beside the target (same file system),
and the target is then replaced by two renames: the old directory is moved aside,
the new one moved in. A failure before the swap leaves the old directory as it was;
a failure of the second rename moves the old one back. The replaced directory is
kept beside the node as ``DIR.replaced-<UTC time>``, never deleted: a gateway's
message log holds evidence of every exchange made since the backup, and an
authority's registry every change since; the operator removes it once that is
archived or known to be worthless.

Databases come back without ``-wal`` and ``-shm`` files: the snapshot in the archive
is a standalone database that already holds what the WAL held when it was taken, and
the ``-wal``/``-shm`` files of the replaced directory go away with it (a WAL left beside
a restored database would be replayed into it, or refused as belonging to another
database). The node recreates both when it opens the database.

Refusals, each before anything changes:

* a node that runs (a sild server naming the directory, ``trust.infra.servers_inside``,
  or anything listening on a port the node's settings name): its open databases and
  in-memory state would outlive the swap, and it would overwrite what was restored;
* an archive of another role (a gateway's backup restored as an authority), even
  with ``force``: the result could not run;
* an archive of another node (another gateway identifier or instance) over a
  directory that holds a node, unless ``force``: restoring gateway A over gateway B
  gives B's operator A's keys and identity;
* a directory that holds something that is not a node of this role, unless ``force``.

A restore drill (``drill=True``, ``restore DIR FILE --drill``) proves a backup can
be restored while the node keeps serving on the same host: it runs every check
above into a directory that must be new or empty, but does not refuse because the
node's ports are busy (they are the live node's), loads no PostgreSQL dump (the
URLs are the live node's databases; the dumps' digests are checked), and writes
:data:`DRILL_MARKER` into the copy, which ``serve`` refuses
(:func:`refuse_drill_copy`): two nodes with one identity and one set of ports
must not both run by accident. Removing the marker makes the copy a real node.

PostgreSQL databases of the node are loaded with ``pg_restore`` in one transaction,
after every check and before the swap; they are outside the directory, so the swap
cannot make them atomic with it: if the swap then fails, the restore must be run again.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import shutil
import socket
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trust.errors import SildError
from trust.infra import fsync_directory, servers_inside, utc_now

from ._crypto import DecryptingReader, is_encrypted
from ._databases import check_sqlite, restore_postgresql
from ._errors import BackupDamaged, BackupError, BackupRefused
from ._manifest import DUMPS, MANIFEST, NODE, Manifest, NodeKind

DRILL_MARKER = "RESTORE-DRILL"
"""The file a restore drill writes into its copy; ``serve`` refuses a directory that holds it."""
_MAX_MANIFEST = 64 << 20
_BLOCK = 1 << 20


def _open_archive(source: BinaryIO, passphrase: str | None) -> BinaryIO:
    head = source.read(8)
    source.seek(0)
    if not is_encrypted(head):
        return source
    if passphrase is None:
        raise BackupRefused("the backup is encrypted: give its passphrase (--passphrase-env VAR, or at the prompt)")
    return DecryptingReader(source, passphrase)  # type: ignore[return-value]


def _extract(archive: Path, work: Path, passphrase: str | None) -> Manifest:
    """Unpack ``archive`` into ``work``; its manifest. Damage is :class:`BackupDamaged`; a
    failure to write (a full disk) stays an ``OSError`` for the caller to report."""
    manifest: Manifest | None = None
    try:
        raw = archive.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read backup {archive}: {exc.strerror or exc}") from exc
    with raw:
        try:
            # gzip read by GzipFile, not tarfile: it checks the trailer (CRC-32, length) at the end
            with gzip.GzipFile(fileobj=_open_archive(raw, passphrase), mode="rb") as gz, \
                    tarfile.open(fileobj=gz, mode="r|") as tar:
                for member in tar:
                    name = member.name
                    if name == MANIFEST and member.isfile():
                        if member.size > _MAX_MANIFEST:
                            raise BackupDamaged("the backup's manifest is too large")
                        handle = tar.extractfile(member)
                        manifest = Manifest.from_json(handle.read() if handle is not None else b"")
                    elif name == NODE or name.startswith((f"{NODE}/", f"{DUMPS}/")):
                        tar.extract(member, work, filter="data")
                    else:
                        raise BackupDamaged(f"the backup holds an unexpected entry {name!r}")
                while gz.read(_BLOCK):  # the end of the archive: padding, then the gzip trailer
                    pass
        except (tarfile.TarError, zlib.error, EOFError, gzip.BadGzipFile) as exc:
            raise BackupDamaged(f"{archive} is not a readable sild backup: {exc}") from exc
    if manifest is None:
        raise BackupDamaged(f"{archive} has no manifest (cut short, or not a sild backup)")
    return manifest


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _verify(manifest: Manifest, work: Path) -> None:
    """Every file as the manifest says, and nothing else."""
    node = work / NODE
    listed = {entry.path: entry for entry in manifest.files}
    for path in sorted(node.rglob("*")):
        rel = path.relative_to(node).as_posix()
        if path.is_dir() and not path.is_symlink():
            continue
        entry = listed.pop(rel, None)
        if entry is None:
            raise BackupDamaged(f"the backup holds {rel}, which its manifest does not list")
        if entry.kind == "symlink":
            if not path.is_symlink() or os.readlink(path) != entry.target:
                raise BackupDamaged(f"{rel} in the backup differs from its manifest")
        elif path.is_symlink() or _digest(path) != entry.sha256:
            raise BackupDamaged(f"{rel} in the backup differs from its manifest (digest mismatch)")
        if entry.kind == "sqlite":
            check_sqlite(path)
    if listed:
        raise BackupDamaged(f"the backup lacks {sorted(listed)[0]}, which its manifest lists")
    for dump in manifest.databases:
        path = work / dump.file
        if not path.is_file() or _digest(path) != dump.sha256:
            raise BackupDamaged(f"the database dump {dump.file} is missing or differs from the manifest")


def _listening(ports: list[tuple[str, int]]) -> str | None:
    for host, port in ports:
        if not port:
            continue
        address = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return f"{address}:{port}"
        except OSError:
            continue
    return None


def refuse_if_running(directory: Path, kind: NodeKind) -> None:
    """:class:`BackupRefused` when a node serves ``directory`` (see the module docstring)."""
    pids = servers_inside(directory)
    if pids:
        raise BackupRefused(f"the {kind.name} in {directory} is running (pid {', '.join(map(str, pids))}); "
                            f"stop it before restoring")
    try:
        ports = kind.ports(directory) if directory.exists() else []
    except SildError:
        ports = []
    busy = _listening(ports)
    if busy:
        raise BackupRefused(f"something listens on {busy}, a port of the {kind.name} in {directory}; "
                            f"stop the node before restoring")


def _check_target(manifest: Manifest, directory: Path, kind: NodeKind, force: bool) -> None:
    if manifest.role != kind.role:
        raise BackupRefused(f"this is a backup of a {manifest.role}, not of a {kind.name}; "
                            f"restore it with `sild {manifest.role} restore`")
    if not directory.exists() or not any(directory.iterdir()) or force:
        return
    try:
        current = kind.identity(directory)
    except (SildError, OSError, ValueError):
        raise BackupRefused(f"{directory} holds something that is not a {kind.name}; "
                            f"--force replaces it") from None
    if current != manifest.identity:
        raise BackupRefused(f"the backup is of {kind.name} {manifest.identity}, but {directory} is "
                            f"{current}; --force replaces it") from None


def _swap(staged: Path, directory: Path) -> Path | None:
    """Put ``staged`` in place of ``directory``; the replaced directory is kept beside it (its path)."""
    parent = directory.parent
    if directory.is_dir() and not directory.is_symlink() and not any(directory.iterdir()):
        directory.rmdir()  # an empty directory holds nothing worth keeping
    aside = None
    if directory.exists() or directory.is_symlink():
        aside = parent / f"{directory.name}.replaced-{utc_now():%Y%m%dT%H%M%SZ}"
        while aside.exists():
            aside = aside.with_name(f"{aside.name}-{secrets.token_hex(2)}")
        os.rename(directory, aside)
    try:
        os.rename(staged, directory)
    except BaseException:
        if aside is not None:
            os.rename(aside, directory)
        raise
    fsync_directory(parent, best_effort=True)
    return aside


def refuse_drill_copy(directory: Path, kind: NodeKind) -> None:
    """:class:`BackupRefused` when ``directory`` is a restore drill's copy: serving it would run a second
    node with the live one's identity (and, on the same host, ports)."""
    marker = Path(directory) / DRILL_MARKER
    if marker.exists():
        raise BackupRefused(f"{directory} is a restore drill's copy, not a node to serve; to make it a real "
                            f"{kind.name}, stop the original and remove {marker}")


def _refuse_drill_target(directory: Path) -> None:
    if directory.is_symlink() or (directory.exists() and (not directory.is_dir() or any(directory.iterdir()))):
        raise BackupRefused(f"a restore drill restores into a new or empty directory; {directory} is not empty")


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup's manifest, where the replaced directory was kept (if any), whether it
    was a drill, and what the restored directory holds (:attr:`NodeKind.describe`)."""

    manifest: Manifest
    replaced: Path | None
    drill: bool = False
    holds: tuple[str, ...] = ()


def _load_into_place(manifest: Manifest, work: Path, kind: NodeKind) -> None:
    """A real restore's last checks and its PostgreSQL databases: refused while the restored node's ports are
    taken, each dump loaded into the database the restored settings name."""
    staged = work / NODE
    busy = _listening(kind.ports(staged))
    if busy:
        raise BackupRefused(f"something listens on {busy}, a port of the restored {kind.name}; "
                            f"stop the node that uses it before restoring, or restore a copy with --drill")
    urls = kind.server_databases(staged)
    for dump in manifest.databases:
        if dump.name not in urls:
            raise BackupRefused(f"the restored settings name no database {dump.name!r} for the dump in the backup")
        restore_postgresql(urls[dump.name], work / dump.file)


def restore_backup(archive: Path, directory: Path, kind: NodeKind, *, passphrase: str | None = None,
                   force: bool = False, drill: bool = False) -> Restored:
    """Replace the node in ``directory`` (which may be gone) with the one in ``archive``; with ``drill``,
    restore a copy that cannot be served into a new or empty ``directory`` (see the module docstring).

    Returns the archive's manifest and where the replaced directory is kept. Raises :class:`BackupRefused` (see the module
    docstring), :class:`BackupDamaged` for an archive that fails a check, and
    :class:`BackupError` when a file cannot be read or written.
    """
    archive, directory = Path(archive), Path(os.path.abspath(directory))
    if drill:
        _refuse_drill_target(directory)
    else:
        refuse_if_running(directory, kind)
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.restore-", dir=str(directory.parent)))
    try:
        manifest = _extract(archive, work, passphrase)
        _check_target(manifest, directory, kind, force)
        _verify(manifest, work)
        staged = work / NODE
        if not staged.is_dir():
            raise BackupDamaged(f"{archive} holds no node directory")
        holds: tuple[str, ...] = ()
        if drill:
            holds = tuple(kind.describe(staged))
            (staged / DRILL_MARKER).write_text(f"A restore drill's copy of {archive.name} "
                                               f"({manifest.identity}); `serve` refuses it.\n")
        else:
            _load_into_place(manifest, work, kind)
        replaced = _swap(staged, directory)
    except OSError as exc:
        raise BackupError(f"restore into {directory} failed, nothing was changed: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Restored(manifest, replaced, drill, holds)
