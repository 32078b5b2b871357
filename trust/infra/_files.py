"""Crash-safe file writes: a reader sees the old file or the new one, never half of one.

Every file sild writes for others to read (keys, certificates, anchors, published
configuration, message-log archives, state files) goes through :func:`write_atomic`:
the bytes go to a temporary file in the same directory, are fsynced, and the file is
renamed over the target (``rename`` is atomic within one file system). A failure
removes the temporary file; a crash can leave only a hidden ``.<name>.*`` file behind,
never a damaged target.

The rename itself is durable only once the directory is fsynced
(:func:`fsync_directory`); writers that must not lose a file they already reported
(the message-log archiver records it in the database next) ask for that with
``sync_directory=True``. Writers that switch a whole directory (a staged folder
renamed into place, a symlink replaced) call :func:`fsync_directory` after the switch.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

_TEMP_ATTEMPTS = 100


def _temp_file(path: Path, mode: int | None) -> tuple[int, str]:
    if mode is not None:
        return tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    # no explicit mode: created like open() creates a file, so the process umask decides
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TEMP_ATTEMPTS):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def write_atomic(path: Path, data: bytes, *, mode: int | None = 0o644, sync_directory: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half.

    ``mode`` is the new file's permission bits; ``None`` leaves them to the process
    umask (as ``open()`` would). ``sync_directory`` also fsyncs the directory after
    the rename, so the new file survives a power loss; its errors propagate.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_file(path, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_directory:
        fsync_directory(path.parent)


def fsync_directory(path: Path, *, best_effort: bool = False) -> None:
    """Make the entries of directory ``path`` (renames, new files) durable.

    ``best_effort`` swallows ``OSError`` (a file system or platform that cannot open
    or fsync a directory): for callers whose switch is already atomic and for whom
    durability of the switch is a bonus, not a promise.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if best_effort:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not best_effort:
            raise
    finally:
        os.close(fd)
