"""The rules of X-Road's op-monitoring answers over a real store: limits, continuation, who sees what.

The metaservices themselves are exercised through gateways in ``test_opmonitoring``; here
the store holds records at chosen seconds, so the edges (a limit inside one second, a
``recordsTo`` in the future, a caller that sees only its own records) are exact.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from federation.model._private import MonitoringParameters
from federation.model._write import write_monitoring_parameters
from gateway.db import open_engine
from gateway.monitoring import MonitoringClientSource, MonitoringFeed, OpMonitor, OpNote, health_data, operational_data
from gateway.monitoring._store import InvalidOpQuery, client_fields
from trust.protocol import MemberId, SubsystemId

BASE = 1_780_000_000
NOW = BASE + 1000
ALICE = SubsystemId("EE", "COM", "1", "alice")
BOB = SubsystemId("EE", "COM", "2", "bob")
PROVIDER = SubsystemId("EE", "GOV", "9", "reg")


def _record(second: int, client: SubsystemId = ALICE, provider: SubsystemId = PROVIDER, **extra: Any) -> dict:
    rec = {"monitoringDataTs": BASE + second, "securityServerType": "Producer", "succeeded": True,
           "securityServerInternalIp": "10.0.0.1", "requestInTs": (BASE + second) * 1000,
           "responseOutTs": (BASE + second) * 1000 + 40, "requestSize": 100, "responseSize": 300,
           "serviceXRoadInstance": provider.instance, "serviceMemberClass": provider.member_class,
           "serviceMemberCode": provider.member_code, "serviceSubsystemCode": provider.subsystem_code,
           "serviceCode": "getX", "serviceType": "WSDL", "messageId": f"m-{second}-{client.subsystem_code}",
           **client_fields(client)}
    rec.update(extra)
    return rec


@pytest.fixture
def monitor(tmp_path: Path) -> OpMonitor:
    return OpMonitor(open_engine(tmp_path / "gw.db"))


def test_a_limit_never_splits_a_second_and_says_where_to_continue(monitor: OpMonitor) -> None:
    monitor.store_many([_record(0), _record(1), _record(1, BOB), _record(1, PROVIDER), _record(5)])
    first = operational_data(monitor, BASE, BASE + 10, now=NOW, limit=2)
    assert [r["monitoringDataTs"] - BASE for r in first.records] == [0, 1, 1, 1]  # all of second 1
    assert first.next_records_from == BASE + 2
    rest = operational_data(monitor, first.next_records_from, BASE + 10, now=NOW, limit=2)
    assert [r["messageId"] for r in rest.records] == ["m-5-alice"] and rest.next_records_from is None
    whole = operational_data(monitor, BASE, BASE + 1, now=NOW, limit=2)  # the last second is the end: no more
    assert len(whole.records) == 4 and whole.next_records_from is None


def test_recent_seconds_wait_and_the_answer_says_so(monitor: OpMonitor) -> None:
    monitor.store_many([_record(0), _record(9)])
    now = BASE + 10  # second 9 is not complete yet with an offset of 2
    cut = operational_data(monitor, BASE, BASE + 3600, now=now, offset=2)
    assert [r["monitoringDataTs"] for r in cut.records] == [BASE] and cut.next_records_from == BASE + 8
    with pytest.raises(InvalidOpQuery, match="not available"):
        operational_data(monitor, BASE + 8, BASE + 20, now=now, offset=2)
    for bad in ((-1, 5), (5, 4)):
        with pytest.raises(InvalidOpQuery):
            operational_data(monitor, *bad, now=now)
    with pytest.raises(InvalidOpQuery, match="unknown output"):
        operational_data(monitor, 0, 5, now=now, fields=["nope"])


def test_other_callers_see_their_own_records_without_internal_fields(monitor: OpMonitor) -> None:
    monitor.store_many([_record(0), _record(1, BOB), _record(2, BOB, ALICE)])
    everything = operational_data(monitor, BASE, BASE + 10, now=NOW)
    assert len(everything.records) == 3 and everything.records[0]["securityServerInternalIp"] == "10.0.0.1"
    alice = operational_data(monitor, BASE, BASE + 10, now=NOW, requester=ALICE)
    assert [r["messageId"] for r in alice.records] == ["m-0-alice", "m-2-bob"]  # as client, then as provider
    assert all("securityServerInternalIp" not in r for r in alice.records)
    # searchCriteria/client keeps records whose service provider it is (X-Road's query)
    assert [r["messageId"] for r in operational_data(monitor, BASE, BASE + 10, now=NOW, provider=ALICE).records] \
        == ["m-2-bob"]
    assert operational_data(monitor, BASE, BASE + 10, now=NOW, requester=BOB, provider=PROVIDER).records[0][
        "messageId"] == "m-1-bob"


def test_output_fields_leave_monitoring_data_ts_out_unless_named(monitor: OpMonitor) -> None:
    monitor.store(_record(0))
    assert operational_data(monitor, BASE, BASE, now=NOW, fields=["serviceCode"]).records == [{"serviceCode": "getX"}]
    named = operational_data(monitor, BASE, BASE, now=NOW, fields=["serviceCode", "monitoringDataTs"]).records
    assert named == [{"serviceCode": "getX", "monitoringDataTs": BASE}]


def test_health_counts_producer_records_of_the_period(monitor: OpMonitor) -> None:
    monitor.store_many([
        _record(900), _record(901, responseOutTs=(BASE + 901) * 1000 + 60, requestSize=300),
        _record(902, succeeded=False, faultCode="server.serverproxy.service_failed"),
        _record(903, securityServerType="Client"),  # a request this gateway made: not its health
        _record(100),  # before the period
        _record(904, provider=BOB),
    ])
    found = health_data(monitor, now=NOW, period=600)
    assert [h.service.provider for h in found] == [BOB, PROVIDER]
    reg = found[1]
    assert (reg.successful, reg.unsuccessful) == (2, 1)
    assert reg.last_successful == (BASE + 901) * 1000 + 60 and reg.last_unsuccessful == (BASE + 902) * 1000 + 40
    assert reg.duration.figures() == (40, 50.0, 60, pytest.approx(14.142, abs=1e-3))
    assert reg.request_size.figures() == (100, 200.0, 300, pytest.approx(141.42, abs=1e-2))
    assert [h.service.provider for h in health_data(monitor, now=NOW, provider=BOB)] == [BOB]


def test_the_feed_stamps_the_second_a_record_is_stored(monitor: OpMonitor) -> None:
    feed = MonitoringFeed(monitor, flush_seconds=3600)
    try:
        note = OpNote(side="server", request_in_ts=1_000, started=time.perf_counter())  # an old exchange
        note.identify(ALICE, PROVIDER.service("getX"), "WSDL", x_request_id="x", request_size=1)
        feed.finish(note)
        before = int(time.time())
        assert feed.flush() == 1
        (stored,) = monitor.query(before, int(time.time())).records
        assert stored["requestInTs"] == 1_000 and before <= stored["monitoringDataTs"] <= int(time.time())
    finally:
        feed.close()


def test_the_monitoring_client_comes_from_the_stored_configuration_part(tmp_path: Path) -> None:
    source = MonitoringClientSource(tmp_path, "EE")
    assert source() is None  # no part published
    part = tmp_path / "EE" / "monitoring-params.xml"
    part.parent.mkdir()
    part.write_bytes(write_monitoring_parameters(MonitoringParameters(MemberId("EE", "GOV", "7"))))
    assert source() == MemberId("EE", "GOV", "7")
    part.write_bytes(write_monitoring_parameters(MonitoringParameters(ALICE)) + b"\n")  # changed: read again
    assert source() == ALICE
    part.write_bytes(b"<not-monitoring/>")
    assert source() is None  # unreadable: nobody is the monitoring client
