"""The run's throw-away PostgreSQL never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pgserver import _bindir

PROJECT = Path(__file__).resolve().parents[1]

_STARTER = """
import sys, time
from tests.pgserver import start_postgres
server = start_postgres()
if server is None:
    print("none", flush=True)
else:
    pid = (server.datadir / "postmaster.pid").read_text().split()[0]
    print(pid, server.datadir, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user (the postgres user when we are not root)
        return True
    return True


@pytest.mark.skipif(_bindir() is None, reason="PostgreSQL is not installed (make tools installs it)")
def test_a_killed_run_leaves_no_postgres_behind() -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    starter = subprocess.Popen([sys.executable, "-c", _STARTER], cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None
        line = starter.stdout.readline().split()
        assert line and line[0] != "none", "the child could not start PostgreSQL"
        postmaster, datadir = int(line[0]), Path(line[1])
        assert _alive(postmaster) and datadir.is_dir()
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=10)
    deadline = time.monotonic() + 15
    while (_alive(postmaster) or datadir.parent.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(postmaster), "the postmaster outlived the killed run"
    assert not datadir.parent.exists(), "the cluster's directory outlived the killed run"


@pytest.mark.skipif(_bindir() is None, reason="PostgreSQL is not installed (make tools installs it)")
def test_a_normal_stop_ends_the_watchdog_too() -> None:
    from tests.pgserver import start_postgres

    server = start_postgres()
    assert server is not None
    watchdog = server.watchdog
    assert watchdog is not None and watchdog.poll() is None
    server.stop()
    assert watchdog.poll() is not None
    assert not server.datadir.parent.exists()
