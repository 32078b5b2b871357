"""Operational monitoring records: X-Road field names, validation, time-range and client queries."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from gateway.monitoring import OpMonitor, OpNote
from gateway.monitoring._store import FIELDS, InvalidOpQuery, InvalidOpRecord, client_fields, ms
from gateway.db import open_engine
from trust.protocol import MemberId, SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
CLIENT = SubsystemId("EE", "COM", "20000002", "app")
OTHER = SubsystemId("EE", "COM", "20000003", "crm")


def record(second: int, client: SubsystemId = CLIENT, **extra: Any) -> dict[str, Any]:
    moment = T0 + dt.timedelta(seconds=second)
    rec: dict[str, Any] = {
        "monitoringDataTs": int(moment.timestamp()),
        "securityServerInternalIp": "127.0.0.1",
        "securityServerType": "Producer",
        "requestInTs": ms(moment),
        "responseOutTs": ms(moment) + 25,
        **client_fields(client),
        "serviceXRoadInstance": "EE", "serviceMemberClass": "GOV", "serviceMemberCode": "70000001",
        "serviceSubsystemCode": "tax", "serviceCode": "getPerson", "serviceVersion": "v1", "serviceType": "WSDL",
        "messageId": f"q-{second}", "messageProtocolVersion": "4.0", "requestSize": 812, "responseSize": 1400,
        "succeeded": True, "xRequestId": f"r-{second}",
    }
    rec.update(extra)
    return rec


@pytest.fixture
def monitor(tmp_path: Path) -> OpMonitor:
    return OpMonitor(open_engine(tmp_path / "gw.db"), clock=lambda: T0)


def test_records_round_trip_with_xroad_names(monitor: OpMonitor) -> None:
    rec = record(0)
    monitor.store(rec)
    result = monitor.query(int(T0.timestamp()), int(T0.timestamp()))
    assert result.records == [rec] and result.next_records_from is None
    assert set(result.records[0]) <= set(FIELDS)
    assert result.to_json()["recordsCount"] == 1


def test_time_range_and_client_filter(monitor: OpMonitor) -> None:
    base = int(T0.timestamp())
    for second in range(5):
        monitor.store(record(second, CLIENT if second % 2 == 0 else OTHER))
    assert len(monitor.query(base + 1, base + 3).records) == 3
    assert [r["messageId"] for r in monitor.query(base, base + 10, client=OTHER).records] == ["q-1", "q-3"]
    # the provider matches as well as the client
    assert len(monitor.query(base, base + 10, client=SubsystemId("EE", "GOV", "70000001", "tax")).records) == 5
    assert monitor.query(base, base + 10, client=MemberId("EE", "COM", "20000002")).records == []
    only = monitor.query(base, base + 10, fields=["messageId", "succeeded"]).records
    assert only[0] == {"messageId": "q-0", "succeeded": True}


def test_paging_says_where_to_continue(monitor: OpMonitor) -> None:
    base = int(T0.timestamp())
    for second in (0, 0, 1, 1, 2):
        monitor.store(record(second))
    page = monitor.query(base, base + 10, limit=3)
    # the third record shares second 1 with the fourth: stop before that second, continue from it
    assert len(page.records) == 2 and page.next_records_from == base + 1
    rest = monitor.query(page.next_records_from, base + 10)  # type: ignore[arg-type]
    assert len(rest.records) == 3


@pytest.mark.parametrize(
    "change, message",
    [
        ({"bogusField": 1}, "unknown"),
        ({"requestSize": "812"}, "integer"),
        ({"succeeded": "yes"}, "true or false"),
        ({"securityServerType": "Server"}, "Client or Producer"),
        ({"serviceType": "GRPC"}, "serviceType"),
        ({"monitoringDataTs": None}, "lacks monitoringDataTs"),
    ],
    ids=["unknown", "int", "bool", "server-type", "service-type", "missing"],
)
def test_bad_records_are_refused(monitor: OpMonitor, change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidOpRecord, match=message):
        monitor.store(record(0, **change))


def test_bad_queries_are_refused(monitor: OpMonitor) -> None:
    with pytest.raises(InvalidOpQuery):
        monitor.query(10, 5)
    with pytest.raises(InvalidOpQuery, match="unknown output"):
        monitor.query(0, 5, fields=["nope"])


def test_health_and_retention(monitor: OpMonitor) -> None:
    base = int(T0.timestamp())
    monitor.store(record(0))
    monitor.store(record(1, succeeded=False, faultCode="server.serverproxy.access_denied"))
    (stats,) = monitor.health(base, base + 10)
    assert (stats["successfulRequestCount"], stats["unsuccessfulRequestCount"], stats["averageDurationMs"]) == (1, 1, 25)
    assert monitor.cleanup(T0 + dt.timedelta(days=6)) == 0
    assert monitor.cleanup(T0 + dt.timedelta(days=8)) == 2


def test_exchange_record_builder_feeds_store_and_metrics(monitor: OpMonitor) -> None:
    from gateway.monitoring import GatewayMetrics
    from gateway.monitoring import exchange_record

    service = SubsystemId("EE", "GOV", "70000001", "tax").service("persons")
    rec = exchange_record(
        side="server", client=CLIENT, service=service, service_type="REST", request_in=T0,
        response_out=T0 + dt.timedelta(milliseconds=40), succeeded=False, rest_method="GET", rest_path="/p/1",
        status_code=403, fault_code="server.serverproxy.access_denied", message_id="q-1", x_request_id="r-1",
    )
    assert rec["securityServerType"] == "Producer" and rec["responseOutTs"] - rec["requestInTs"] == 40
    assert "serviceVersion" not in rec and rec["serviceCode"] == "persons"
    monitor.store(rec)
    assert monitor.query(rec["monitoringDataTs"], rec["monitoringDataTs"]).records == [rec]
    metrics = GatewayMetrics()
    metrics.observe_record(rec)
    assert metrics.registry.get_sample_value(
        "sild_gateway_failures_total", {"side": "server", "code": "server.serverproxy.access_denied"}) == 1
    assert metrics.registry.get_sample_value(
        "sild_gateway_request_duration_seconds_sum", {"side": "server", "service_type": "REST"}) == pytest.approx(0.04)
    with pytest.raises(InvalidOpRecord, match="naive"):
        exchange_record(side="client", client=None, service=None, service_type=None,
                        request_in=dt.datetime(2026, 1, 1), response_out=T0, succeeded=True)


def test_store_many_is_one_transaction_and_skips_bad_records(monitor: OpMonitor) -> None:
    from gateway.monitoring._store import store_many

    batch = [record(0), record(1, bogusField=1), record(2)]
    assert store_many(monitor, batch) == 2
    base = int(T0.timestamp())
    assert [r["messageId"] for r in monitor.query(base, base + 10).records] == ["q-0", "q-2"]
    assert monitor.store_many([]) == 0


@pytest.mark.parametrize(
    "change",
    [{"clientMemberCode": " "}, {"serviceXRoadInstance": ""}],
    ids=["blank-client-code", "empty-service-instance"],
)
def test_an_invalid_identifier_is_a_bad_record_not_a_failed_batch(monitor: OpMonitor, change: dict[str, Any]) -> None:
    with pytest.raises(InvalidOpRecord, match="invalid client or service"):
        monitor.store(record(0, **change))
    assert monitor.store_many([record(0), record(1, **change), record(2)]) == 2


def test_exact_and_subclassed_values_are_checked_alike(monitor: OpMonitor) -> None:
    class Text(str):
        pass

    class Flag(int):
        pass

    monitor.store(record(0, messageId=Text("q-text"), requestSize=Flag(5)))
    base = int(T0.timestamp())
    assert monitor.query(base, base).records[0]["messageId"] == "q-text"
    with pytest.raises(InvalidOpRecord, match="integer"):
        monitor.store(record(0, requestSize=True))
    with pytest.raises(InvalidOpRecord, match="true or false"):
        monitor.store(record(0, succeeded=1))


# -- the proxies' feed ------------------------------------------------------------------------------


def _note(feed_side: Literal["client", "server"], message_id: str) -> OpNote:
    from gateway.monitoring import OpNote

    note = OpNote.start(feed_side)
    note.identify(CLIENT, SubsystemId("EE", "GOV", "70000001", "tax").service("getPerson", "v1"), "WSDL",
                  x_request_id="x-1", request_size=10, message_id=message_id)
    return note


def test_a_note_names_its_fields_as_x_road_does() -> None:
    note = OpNote(side="client", request_in_ts=1_700_000_000_123, started=0.0)
    assert not note.identified
    service = MemberId("FI", "GOV", "0245437-2").service("income")
    note.identify(CLIENT, service, "REST", x_request_id="x-1", request_size=0, rest_method="GET", rest_path="/a")
    note.message_id, note.request_size = "q-1", 7
    note.fail("server.clientproxy.network_error", "y" * 1200)
    note.response_out_ts, note.status_code = 1_700_000_001_456, 500
    assert note.identified
    assert note.fields() == {
        "securityServerType": "Client", "requestInTs": 1_700_000_000_123, "responseOutTs": 1_700_000_001_456,
        "monitoringDataTs": 1_700_000_001, "clientXRoadInstance": "EE", "clientMemberClass": "COM",
        "clientMemberCode": "20000002", "clientSubsystemCode": "app", "serviceXRoadInstance": "FI",
        "serviceMemberClass": "GOV", "serviceMemberCode": "0245437-2", "serviceCode": "income",
        "serviceType": "REST", "messageId": "q-1", "xRequestId": "x-1", "requestSize": 7, "restMethod": "GET",
        "restPath": "/a", "statusCode": 500, "succeeded": False, "faultCode": "server.clientproxy.network_error",
        "faultString": "y" * 1000, "xRoadVersion": "sild/1",
    }
    server = OpNote(side="server", request_in_ts=1, started=0.0, response_out_ts=2000)
    assert server.fields() == {"securityServerType": "Producer", "requestInTs": 1, "responseOutTs": 2000,
                               "monitoringDataTs": 2, "succeeded": True, "xRoadVersion": "sild/1"}


def test_the_feed_stores_finished_notes_in_one_flush(monitor: OpMonitor) -> None:
    from gateway.monitoring import GatewayMetrics
    from gateway.monitoring import MonitoringFeed

    metrics = GatewayMetrics()
    feed = MonitoringFeed(monitor, metrics, flush_seconds=3600.0)
    try:
        feed.finish(_note("client", "q-ok"), status=200)
        feed.finish(_note("server", "q-bad"), fault_code="server.serverproxy.access_denied", fault_string="x" * 2000)
        bogus = _note("client", "q-bogus")
        bogus.service_type = "bogus"  # an invalid record is skipped, does not cost its neighbours
        feed.finish(bogus)
        assert monitor.query(0, 2**40).records == []  # nothing before the flush: no commit per exchange
        assert feed.flush() == 2
        assert feed.flush() == 0
    finally:
        feed.close()
    ok, bad = sorted(monitor.query(0, 2**40).records, key=lambda r: r["messageId"])[::-1]
    assert ok["messageId"] == "q-ok" and ok["succeeded"] is True and ok["statusCode"] == 200
    assert ok["securityServerType"] == "Client" and ok["serviceVersion"] == "v1"
    assert ok["responseOutTs"] >= ok["requestInTs"]
    assert bad["securityServerType"] == "Producer" and bad["succeeded"] is False
    assert len(bad["faultString"]) == 1000
    assert metrics.registry.get_sample_value(
        "sild_gateway_failures_total", {"side": "server", "code": "server.serverproxy.access_denied"}) == 1


def test_a_full_feed_drops_and_counts_instead_of_slowing_traffic(monitor: OpMonitor) -> None:
    from gateway.monitoring import MonitoringFeed

    feed = MonitoringFeed(monitor, flush_seconds=3600.0, max_queue=3)
    try:
        for n in range(5):
            feed.finish(_note("client", f"q-{n}"))
        assert feed.dropped == 2
    finally:
        feed.close()  # flushes what is queued
    assert sorted(r["messageId"] for r in monitor.query(0, 2**40).records) == ["q-0", "q-1", "q-2"]


def test_the_feed_thread_flushes_concurrent_notes(monitor: OpMonitor) -> None:
    from gateway.monitoring import MonitoringFeed

    feed = MonitoringFeed(monitor, flush_seconds=0.05)
    try:
        threads = [threading.Thread(target=lambda i=i: [feed.finish(_note("client", f"q-{i}-{n}")) for n in range(50)])
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 10
        while len(monitor.query(0, 2**40).records) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        feed.close()
    assert len({r["messageId"] for r in monitor.query(0, 2**40).records}) == 200
