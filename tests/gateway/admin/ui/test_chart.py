"""The traffic page's figures on plain values: buckets, percentiles, per-service rows, and the SVG."""

from __future__ import annotations

from lxml import etree

from gateway.admin.ui._chart import Bucket, bar_chart, buckets, per_service, percentile


def record(at: int, ok: bool = True, code: str = "getTaxRecord", took: int | None = 40) -> dict[str, object]:
    out: dict[str, object] = {"monitoringDataTs": at, "succeeded": ok, "serviceMemberCode": "70000001",
                              "serviceSubsystemCode": "tax", "serviceCode": code}
    if took is not None:
        out.update(requestInTs=at * 1000, responseOutTs=at * 1000 + took)
    return out


def test_records_fall_in_their_interval_and_failures_are_counted() -> None:
    records = [record(0), record(59, ok=False), record(60), record(119), record(120), record(-1), {"succeeded": True}]
    got = buckets(records, 0, 120, 2, lambda t: f"t{t}")
    assert got == [Bucket(0, "t0", 2, 1), Bucket(60, "t60", 2, 0)]  # 120 and -1 are outside, no time is skipped


def test_percentiles_are_nearest_rank_and_services_are_busiest_first() -> None:
    assert percentile([], .5) is None
    assert [percentile(list(range(1, 101)), s) for s in (.5, .95, .99)] == [50, 95, 99]
    rows = per_service([record(1, took=10), record(2, took=30, ok=False), record(3, code="income", took=None)])
    assert [(r.service, r.requests, r.failures, r.p50, r.p99) for r in rows] == [
        ("70000001/tax/getTaxRecord", 2, 1, 10, 30), ("70000001/tax/income", 1, 0, None, None)]


def test_the_chart_is_valid_svg_that_names_what_it_shows_and_escapes_labels() -> None:
    svg = bar_chart([Bucket(0, "<00:00>", 4, 1), Bucket(60, "01:00", 0, 0)], "Requests & failures")
    root = etree.fromstring(svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img" and root.findtext("s:title", namespaces=ns) == "Requests & failures"
    assert root.findtext("s:desc", namespaces=ns) == "4 requests and 1 failures in 2 intervals; busiest <00:00> with 4."
    heights = [float(r.get("height")) for r in root.iterfind("s:rect", ns)]
    assert heights[0] == 148.0 and heights[1] == 37.0 and heights[2:] == [0.0, 0.0]  # 4 of 4, 1 of 4
