"""Consistent copies of live databases: SQLite through its backup API, PostgreSQL through pg_dump.

Copying a live SQLite file is not a backup. In WAL mode (every sild database) the
last commits live in ``NAME-wal`` until a checkpoint moves them into ``NAME``, and
``NAME-shm`` is the index of that log, shared memory between the connections; a copy
of the three files taken while a writer runs can hold a database page from one
moment and a WAL from another. SQLite's online backup API
(``sqlite3.Connection.backup``) copies the pages of one read transaction, WAL
content included, into a standalone database file: readers and writers of the live
database go on meanwhile (a WAL reader blocks nobody), and the copy is the database
as it was at one commit. It is taken in one step (``pages=-1``): a stepwise backup
restarts whenever another connection writes, and a busy message log would never
finish.

A database on a PostgreSQL server is dumped with ``pg_dump --format=custom`` and
loaded back with ``pg_restore --clean --if-exists --single-transaction``: the same
consistency (one snapshot) from the server's own tools, whose format follows the
server's version. Without them the backup is refused, not made without the data.
The password goes to the tools in ``PGPASSWORD``, never on a command line that
``ps`` shows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from ._errors import BackupError

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")
_TOOL_TIMEOUT = 3600.0  # seconds: a dump of a large message log takes minutes, never hours


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def snapshot_sqlite(source: Path, target: Path, *, busy_ms: int = 30_000) -> None:
    """Copy the live SQLite database ``source`` as of one commit into the new file ``target``."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=busy_ms / 1000)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open database {source}: {exc}") from exc
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a standalone file: no -wal beside it in the archive
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up database {source}: {exc}") from exc
    finally:
        src.close()


def check_sqlite(path: Path) -> None:
    """A restored database file must open and pass SQLite's own check."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restored database {path.name} does not open: {exc}") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"restored database {path.name} fails SQLite's check: {result}")


def sqlite_inside(url: str, directory: Path) -> bool:
    """An SQLite URL whose file lies inside ``directory``: the walk of the directory already copies it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return False
    return Path(parsed.database).resolve().is_relative_to(Path(directory).resolve())


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """Command-line connection options and environment for the PostgreSQL tools."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        raise BackupError(f"the database {parsed.database} lies outside the node directory; sild backs up the "
                          f"SQLite files inside it and PostgreSQL databases: move the file into the directory")
    if not parsed.drivername.startswith("postgresql"):
        raise BackupError(f"cannot back up a {parsed.drivername} database; sild backs up SQLite and PostgreSQL")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    args = ["--dbname", str(parsed.database or "")]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"this node keeps a database on a PostgreSQL server and {name} is not installed; "
                          f"install the PostgreSQL client tools (Debian: postgresql-client) and try again")
    return path


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=_TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {last}")


def dump_postgresql(url: str, target: Path) -> None:
    """``pg_dump`` the database at ``url`` into ``target`` (custom format)."""
    args, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args], env,
         f"pg_dump of {url.split('@')[-1]}")


def restore_postgresql(url: str, dump: Path) -> None:
    """Replace the contents of the database at ``url`` with ``dump``, in one transaction."""
    args, env = _libpq(url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(dump)],
         env, f"pg_restore into {url.split('@')[-1]}")
