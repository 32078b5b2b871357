"""A throw-away PostgreSQL server for the test run.

sild's registry, server configuration and message log must work the same on
PostgreSQL as on SQLite, so the suite runs them on a real server: when
``SILD_TEST_POSTGRES_URL`` is not set and Debian's PostgreSQL binaries are present
(``make test`` installs them), a cluster is created in a temporary directory,
started on a free loopback port with fsync off (it is thrown away), and stopped and
removed at the end of the run. PostgreSQL refuses to run as root, so as root the
cluster belongs to the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
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

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://sild@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.run_as, *args], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> PostgresServer | None:
    """Start a cluster, or return None when PostgreSQL is not installed."""
    bindir = _bindir()
    if bindir is None:
        return None
    base = Path(tempfile.mkdtemp(prefix="sild-pg-"))
    datadir = base / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return None
        os.chown(base, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(bindir, datadir, _free_port(), run_as)
    try:
        server._run(str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "sild", "--no-sync", "-E", "UTF8")
        options = f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        server._run(str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(base / "log"), "-w", "start")
    except (subprocess.SubprocessError, OSError):
        server.stop()
        return None
    return server


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
