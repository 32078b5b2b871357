"""The same models and operations on PostgreSQL (set SILD_TEST_POSTGRES_URL, e.g.
``postgresql+psycopg://sild@127.0.0.1:5432/gw``, to an empty database to run these)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Iterator, Sequence

import pytest
from sqlalchemy import Engine, text

from gateway.serverconf import AccessChecker
from gateway.messagelog import LogEntry, MessageLog, MessageLogConfig
from gateway.messagelog import Timestamper
from gateway.messagelog._timestamper import BatchStamp
from gateway.monitoring import OpMonitor
from gateway.monitoring._store import client_fields
from gateway.serverconf import Operation, ServerConf
from gateway.db import open_engine
from gateway.serverconf import AlreadyExists
from trust.protocol import LocalGroupId, SubsystemId

URL = os.environ.get("SILD_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="set SILD_TEST_POSTGRES_URL to run on PostgreSQL")
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert URL is not None
    eng = open_engine(URL)
    yield eng
    with eng.begin() as conn:  # leave an empty database for the next run
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def test_configuration_and_access_on_postgresql(engine: Engine) -> None:
    conf = ServerConf(engine, clock=lambda: T0, refresh_interval=0)
    conf.add_client(PROVIDER, state="REGISTERED")
    conf.add_client(CONSUMER)
    with pytest.raises(AlreadyExists):
        conf.add_client(CONSUMER)
    conf.add_wsdl(PROVIDER, "http://b/s.wsdl", operations=[Operation("getPerson", "v1", "http://b/")], enabled=True)
    conf.add_local_group(PROVIDER, "clerks")
    conf.add_group_members(PROVIDER, "clerks", [CONSUMER])
    conf.grant(PROVIDER, "getPerson", LocalGroupId("clerks"))
    assert AccessChecker(conf.snapshot).decide(CONSUMER, PROVIDER.service("getPerson", "v1")).allowed


def test_message_log_timestamping_and_monitoring_on_postgresql(engine: Engine) -> None:
    log = MessageLog(engine, clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))
    for n in range(3):
        log.append(LogEntry(query_id=f"q-{n}", client=CONSUMER, service=PROVIDER.service("getPerson"), side="client",
                            direction="request", kind="SOAP", message=b"<m/>", signature=b"<s%d/>" % n, logged_at=T0))

    def stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))

    assert Timestamper(log, stamper).run_all(T0) == 3
    assert log.get(1).timestamp_token == b"token"
    assert not log.timestamping_overdue(T0 + dt.timedelta(hours=5))
    monitor = OpMonitor(engine)
    ts = int(T0.timestamp())
    monitor.store({"monitoringDataTs": ts, "securityServerType": "Client", "succeeded": True, **client_fields(CONSUMER)})
    assert monitor.query(ts, ts, client=CONSUMER).records[0]["clientMemberCode"] == "20000002"
    log.close()


def test_group_commit_archive_and_retention_on_postgresql(engine: Engine, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from gateway.messagelog import Archiver, verify_archive_chain

    log = MessageLog(engine, clock=lambda: T0)

    def append(n: int) -> int:
        return log.append(LogEntry(query_id=f"q-{n}", client=CONSUMER, service=PROVIDER.service("s"), side="server",
                                   direction="request", kind="REST", message=b"GET\r\n/r1/x", body=b"{}",
                                   signature=b"<s%d/>" % n, logged_at=T0))

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(append, range(50)))
    assert len(set(ids)) == 50 and log.count() == 50

    def stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))

    Timestamper(log, stamper).run_all(T0)
    archiver = Archiver(log, tmp_path / "archive", max_records=20, threshold_bytes=500)
    assert archiver.backlog_bytes() == 50 * 18 - 10  # the size trigger's query on PostgreSQL
    assert [a.record_count for a in archiver.archive_all(T0)] == [20, 20, 10]
    assert archiver.backlog_bytes() == 0 and archiver.run_if_due(T0) == 0  # schedule: never ran, so due; nothing left
    assert archiver.due(T0) is None  # the run was recorded (ml_state on PostgreSQL)
    for n in range(50, 90):
        append(n)
    Timestamper(log, stamper).run_all(T0)
    assert archiver.due(T0) == "size" and archiver.run_if_due(T0) == 40
    assert verify_archive_chain(sorted((tmp_path / "archive").glob("*.zip"))) == 90
    assert archiver.cleanup(T0 + dt.timedelta(days=31)) == 90 and log.count() == 0
    log.close()
