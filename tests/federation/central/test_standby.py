"""The authority on a PostgreSQL primary with a streaming-replication standby (issue 19).

A primary and a standby made with ``pg_basebackup -R`` (``tests/pgserver.py``); the
authority's database URL names both hosts with ``target_session_attrs=read-write``
(libpq tries them in order and takes the one that accepts writes). The primary is
lost (immediate stop, its directory removed), the standby promoted: the running
``sild central serve`` reconnects by itself (pooled connections are pre-pinged, the
generation lease is taken anew on the new primary) and keeps publishing, and no
registry change made before the fail-over is missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.federation.central.central_support import PIN, CentralProcess, free_port, sild, wait_for
from tests.pgserver import PostgresServer, start_postgres, start_standby

pytestmark = pytest.mark.slow


@pytest.fixture
def primary() -> Iterator[PostgresServer]:
    server = start_postgres()
    if server is None:
        pytest.skip("needs PostgreSQL's binaries (make test installs them)")
    try:
        yield server
    finally:
        server.stop()


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _published_serial(directory: Path) -> int:
    return int(json.loads((directory / "public" / "generation.json").read_bytes())["serial"])


def _members(directory: Path) -> set[str]:
    return {line.split("\t")[0] for line in sild("central", "member", "list", str(directory)).stdout.splitlines()
            if line.strip()}


def test_the_authority_keeps_publishing_after_the_standby_is_promoted(tmp_path: Path, primary: PostgresServer) -> None:
    from datetime import datetime, timezone

    from federation.central.registry import init_central

    standby = start_standby(primary)
    try:
        # both hosts in one URL: libpq connects to the first that accepts writes
        url = (f"postgresql+psycopg://sild@/postgres?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}"
               "&target_session_attrs=read-write")
        port = free_port()
        home = tmp_path / "cs"
        init_central(str(home), instance="EE", url=f"http://127.0.0.1:{port}", pin=PIN,
                     now=datetime.now(timezone.utc), database_url=url)
        node = CentralProcess(home, port).wait_ready()
        try:
            for code in ("70000001", "70000002"):
                sild("central", "member", "add", str(home), "--member", f"EE/GOV/{code}", "--name", f"member {code}")
            serial = int(str(_scalar(url, "SELECT serial FROM registry_state")))
            wait_for(lambda: _published_serial(home) == serial, what="the change to be published")
            assert _scalar(standby.url, "SELECT pg_is_in_recovery()") is True
            primary_lsn = _scalar(primary.url, "SELECT pg_current_wal_lsn()::text")
            wait_for(lambda: _scalar(standby.url, f"SELECT pg_last_wal_replay_lsn() >= '{primary_lsn}'::pg_lsn"),
                     what="the standby to replay everything the primary wrote")

            primary.stop()  # the primary's machine is lost
            standby.promote()
            assert _scalar(standby.url, "SELECT pg_is_in_recovery()") is False

            assert {"EE/GOV/70000001", "EE/GOV/70000002"} <= _members(home), "no registry change lost"
            sild("central", "member", "add", str(home), "--member", "EE/GOV/70000003", "--name", "after fail-over")
            serial = int(str(_scalar(url, "SELECT serial FROM registry_state")))
            wait_for(lambda: _published_serial(home) == serial, timeout=120,
                     what="the running authority to publish on the promoted standby")
            stored = _scalar(standby.url, "SELECT max(serial) FROM published_generations")
            assert stored == serial, "the generation is stored in the promoted database"
            # and it goes on: the regular schedule keeps generating there
            settings_serial = serial
            sild("central", "settings", "set", str(home), "ocspFreshnessSeconds", "1800")
            wait_for(lambda: _published_serial(home) > settings_serial, timeout=120, what="a further generation")
            assert node.process.poll() is None
        finally:
            node.stop()
    finally:
        standby.stop()
