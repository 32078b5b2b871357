"""A throw-away PostgreSQL server for the test run.

sild's registry, server configuration and message log must work the same on
PostgreSQL as on SQLite, so the suite runs them on a real server: when
``SILD_TEST_POSTGRES_URL`` is not set and Debian's PostgreSQL binaries are present
(``make test`` installs them), a cluster is created in a temporary directory,
started on a free loopback port with fsync off (it is thrown away), and stopped and
removed at the end of the run. PostgreSQL refuses to run as root, so as root the
cluster belongs to the ``postgres`` system user.

``pg_ctl start`` daemonises the postmaster, so it does not die with the test run: a
killed pytest (SIGKILL, a CI timeout, an OOM kill) would leave it running with its data
directory. A small watchdog process therefore starts with the cluster, in its own
session so that signals for pytest's process group do not reach it, and waits for the
process that started the cluster to die (a pidfd on Linux, else polling its parent id).
If that happens before :meth:`PostgresServer.stop` ends the watchdog, it stops the
cluster (``pg_ctl -m immediate stop``) and removes its directory. The watchdog is this
file run as a script, so it needs nothing but the standard library.
"""

from __future__ import annotations

import glob
import os
import pwd
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    """A loopback port reserved for this process: binding to port 0 and closing lets another
    process (a concurrent test, an outgoing connection) take the port before the server binds it."""
    from gateway.sandbox._ports import reserve_port

    return reserve_port()


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    run_as: list[str]
    watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://sild@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.run_as, *args], check=True, capture_output=True, timeout=60)

    def promote(self) -> None:
        """Make this standby (:func:`start_standby`) a primary that accepts writes (``pg_ctl promote``)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "promote")

    def stop(self) -> None:
        _stop_cluster(self.bindir, self.datadir, self.run_as)
        if self.watchdog is not None:
            self.watchdog.terminate()
            self.watchdog.wait(timeout=10)
            self.watchdog = None


def _stop_cluster(bindir: Path, datadir: Path, run_as: list[str]) -> None:
    """Stop the cluster if it runs, then remove its directory (the data directory's parent)."""
    if (datadir / "postmaster.pid").exists():
        try:
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
                           check=True, capture_output=True, timeout=60)
        except (subprocess.SubprocessError, OSError):
            pass
    shutil.rmtree(datadir.parent, ignore_errors=True)


def _start_watchdog(server: PostgresServer) -> subprocess.Popen[bytes]:
    """Run this file as the watchdog of ``server`` for the current process (see the module docstring)."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "watch", str(os.getpid()), str(server.bindir),
         str(server.datadir), *server.run_as],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _wait_for_death(pid: int, poll_seconds: float = 0.5) -> None:
    """Return once process ``pid``, this process's parent, has exited."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or already gone
        pidfd = None
    try:
        while os.getppid() == pid:
            if pidfd is None:
                time.sleep(poll_seconds)
            elif select.select([pidfd], [], [], poll_seconds)[0]:
                return
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _watch(argv: list[str]) -> None:
    """``watch PARENT_PID BINDIR DATADIR [RUN_AS...]``: stop and remove the cluster when PARENT_PID dies."""
    parent, bindir, datadir, run_as = int(argv[0]), Path(argv[1]), Path(argv[2]), argv[3:]
    _wait_for_death(parent)
    _stop_cluster(bindir, datadir, run_as)


def start_postgres() -> PostgresServer | None:
    """Start a cluster, or return None when PostgreSQL is not installed."""
    bindir = _bindir()
    if bindir is None:
        return None
    made = _new_base()
    if made is None:
        return None
    base, run_as = made
    server = PostgresServer(bindir, base / "data", _free_port(), run_as)
    server.watchdog = _start_watchdog(server)  # before initdb: a kill from here on leaves nothing behind
    try:
        server._run(str(bindir / "initdb"), "-D", str(server.datadir), "-A", "trust", "-U", "sild", "--no-sync", "-E", "UTF8")
        options = f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        server._run(str(bindir / "pg_ctl"), "-D", str(server.datadir), "-o", options, "-l", str(base / "log"), "-w", "start")
    except (subprocess.SubprocessError, OSError):
        server.stop()
        return None
    return server


def _new_base() -> tuple[Path, list[str]] | None:
    """A temporary directory for a cluster, owned by the user who runs PostgreSQL; and how to run as that user."""
    base = Path(tempfile.mkdtemp(prefix="sild-pg-"))
    if os.geteuid() != 0:
        return base, []
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        shutil.rmtree(base, ignore_errors=True)
        return None
    os.chown(base, user.pw_uid, user.pw_gid)
    return base, ["runuser", "-u", "postgres", "--"]


def start_standby(primary: PostgresServer) -> PostgresServer:
    """A streaming-replication standby of ``primary`` on a port of its own (issue 19).

    ``pg_basebackup -R`` copies the primary's data directory over the replication
    protocol and writes the standby's ``primary_conninfo`` (``initdb -A trust`` lets a
    loopback replication connection in); the standby then follows the primary's WAL
    until :meth:`PostgresServer.promote`. It has its own watchdog, like the primary.
    """
    made = _new_base()
    if made is None:
        raise RuntimeError("no postgres system user to run the standby as")
    base, run_as = made
    standby = PostgresServer(primary.bindir, base / "data", _free_port(), run_as)
    standby.watchdog = _start_watchdog(standby)
    try:
        standby._run(str(primary.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "sild",
                     "-D", str(standby.datadir), "-R", "-X", "stream", "--no-sync")
        options = f"-p {standby.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        standby._run(str(primary.bindir / "pg_ctl"), "-D", str(standby.datadir), "-o", options, "-l", str(base / "log"),
                     "-w", "start")
    except BaseException:
        standby.stop()
        raise
    return standby


@contextmanager
def temporary_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the run's PostgreSQL server (its URL), dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield server_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    finally:
        admin.dispose()


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    _watch(sys.argv[2:])
