"""The declared purpose in the message log (issue 20): written by both insert paths, read back, bounded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine

from gateway.db import open_engine
from gateway.messagelog import LogEntry, MessageLog, MessageLogConfig
from gateway.messagelog._log import InvalidLogEntry

from tests.gateway.messagelog.log_support import T0, entry
from tests.pgserver import temporary_database


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh gateway database, migrated to head (0004 adds ml_record.purpose)."""
    if request.param == "sqlite":
        eng = open_engine(tmp_path / "log.db")
        yield eng
        eng.dispose()
        return
    url = os.environ.get("SILD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(url, "purpose") as db_url:
        eng = open_engine(db_url)
        try:
            yield eng
        finally:
            eng.dispose()


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "sqlalchemy"])
def test_purpose_round_trips(engine: Engine, group_commit: bool) -> None:
    log = MessageLog(engine, clock=lambda: T0,
                     config=MessageLogConfig(group_commit=group_commit, state_refresh_seconds=0))
    try:
        log.append_all([entry("q-p", purpose="tax-assessment"), entry("q-p", "response", purpose="tax-assessment")])
        log.append(entry("q-none"))
        with log.exchange() as tx:  # the caller's transaction: the third way in
            tx.append(entry("q-tx", purpose="audit"))
        assert {r.direction: r.purpose for r in log.find("q-p")} == {"request": "tax-assessment",
                                                                   "response": "tax-assessment"}
        assert [r.purpose for r in log.find("q-none")] == [None]
        assert [r.purpose for r in log.find("q-tx")] == ["audit"]
    finally:
        log.close()


@pytest.mark.parametrize("bad", ["", "x" * 65])
def test_a_purpose_is_bounded(bad: str) -> None:
    with pytest.raises(InvalidLogEntry, match="1-64"):
        entry(purpose=bad)
    assert LogEntry.__dataclass_fields__["purpose"].default is None
