"""The lease: one holder among processes sharing a PostgreSQL database; always held on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from tests.pgserver import temporary_database
from trust.infra import Lease, lease_key

ROOT = Path(__file__).resolve().parents[3]
needs_postgres = pytest.mark.skipif(not os.environ.get("SILD_TEST_POSTGRES_URL"),
                                    reason="needs PostgreSQL (tests/pgserver.py)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with temporary_database(os.environ["SILD_TEST_POSTGRES_URL"], "sild_lease") as url:
        yield url


def _engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


def test_on_sqlite_the_one_node_always_holds_it(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    first, second = Lease(engine, "job"), Lease(engine, "job", holder="other")
    assert first.acquire() and second.acquire()
    assert not first.shared and first.held and first.holder() == first.holder_name
    first.close()


def test_keys_are_stable_signed_64_bit_numbers() -> None:
    assert lease_key("federation.central.generate") == lease_key("federation.central.generate")
    assert lease_key("a") != lease_key("b")
    assert all(-(2 ** 63) <= lease_key(n) < 2 ** 63 for n in ("a", "b", "x" * 500))
    with pytest.raises(ValueError):
        Lease(create_engine("sqlite://"), "")


@needs_postgres
def test_one_holder_at_a_time_and_the_next_takes_over_when_released(pg_url: str) -> None:
    a_engine, b_engine = _engine(pg_url), _engine(pg_url)
    a, b = Lease(a_engine, "generate", holder="node-a"), Lease(b_engine, "generate", holder="node-b")
    other = Lease(b_engine, "another-job", holder="node-b")
    try:
        assert a.acquire() and a.held and a.shared
        assert a.acquire(), "the holder keeps it on the next tick"
        assert not b.acquire() and not b.held
        assert b.holder() == "node-a" and a.holder() == "node-a"
        assert other.acquire(), "another lease's name is another lock"
        a.release()
        assert not a.held
        assert b.acquire() and b.holder() == "node-b"
        assert not a.acquire()
    finally:
        for lease in (a, b, other):
            lease.close()
        a_engine.dispose()
        b_engine.dispose()


@needs_postgres
def test_a_holder_that_loses_its_session_knows_it(pg_url: str) -> None:
    """A database restart or fail-over ends the session: the holder must not go on acting."""
    from sqlalchemy import text

    engine, admin = _engine(pg_url), _engine(pg_url)
    lease = Lease(engine, "generate", holder="node-a")
    try:
        assert lease.acquire()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'sild lease node-a'"))
            conn.commit()
        # the session is gone: the next tick notices, and (the lock being free) takes it anew
        assert lease.acquire() and lease.holder() == "node-a"
        rival = Lease(admin, "generate", holder="node-b")
        assert not rival.acquire()
        rival.close()
    finally:
        lease.close()
        engine.dispose()
        admin.dispose()


_HOLD = """
import sys, time
from sqlalchemy import create_engine
from trust.infra import Lease
lease = Lease(create_engine(sys.argv[1]), "generate", holder="doomed")
print("held" if lease.acquire() else "refused", flush=True)
time.sleep(600)
"""


@needs_postgres
def test_a_holder_killed_with_sigkill_frees_the_lease(pg_url: str) -> None:
    engine = _engine(pg_url)
    lease = Lease(engine, "generate", holder="survivor")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, pg_url], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert not lease.acquire() and lease.holder() == "doomed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while not lease.acquire():  # the server ends the dead session as soon as it sees the socket close
            assert time.monotonic() < deadline, "the lease of a killed holder was never freed"
            time.sleep(0.1)
        assert lease.holder() == "survivor"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        lease.close()
        engine.dispose()
