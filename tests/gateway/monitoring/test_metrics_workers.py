"""Metrics of several gateway processes: workers dump, the main process merges into one /metrics."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from gateway.monitoring import _merge as metrics_module
from gateway.monitoring import GatewayMetrics

Three = tuple[GatewayMetrics, GatewayMetrics, GatewayMetrics, Path]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

REQUESTS = "sild_gateway_requests_total"
FAILURES = "sild_gateway_failures_total"
DURATION = "sild_gateway_request_duration_seconds"
LAST_SUCCESS = "sild_gateway_messagelog_timestamping_last_success_seconds"
OVERDUE = "sild_gateway_messagelog_timestamping_overdue"


def parse(body: bytes) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"sample {key} appears twice"
            out[key] = float(s.value)
    return out


def rendered(m: GatewayMetrics, include: Path | None = None) -> Samples:
    body, content_type = m.render(include=include)
    assert content_type.startswith("text/plain")
    return parse(body)


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def summable(name: str) -> bool:
    return name.endswith(("_total", "_bucket", "_count", "_sum"))


@pytest.fixture
def three(tmp_path: Path) -> Three:
    """A main process and two workers that saw different exchanges; the workers have dumped."""
    main, w1, w2 = GatewayMetrics(), GatewayMetrics(), GatewayMetrics()
    main.observe("client", "REST", 0.02)
    main.observe("server", "WSDL", 0.004, "server.serverproxy.access_denied")
    w1.observe("client", "REST", 0.3, "server.clientproxy.network_error")
    w1.observe("client", "REST", 7.0)
    w1.observe("server", "WSDL", 0.2, "server.serverproxy.access_denied")
    w2.observe("client", "SOAP", 0.004)  # a label set only this worker has
    w2.messagelog_appends.inc(3)
    main.messagelog_appends.inc(2)
    main.timestamping_last_success.set(1_700_000_000)
    w1.timestamping_last_success.set(1_800_000_000)
    w2.timestamping_overdue.set(1)
    directory = tmp_path / "metrics"
    w1.dump(directory / "worker-1.prom")
    w2.dump(directory / "worker-2.prom")
    return main, w1, w2, directory


def test_counters_and_histograms_are_summed_label_sets_kept(three: Three) -> None:
    main, w1, w2, directory = three
    merged = rendered(main, directory)
    parts = [rendered(m) for m in (main, w1, w2)]
    expected: Samples = {}
    for part in parts:
        for k, v in part.items():
            if summable(k[0]):
                expected[k] = expected.get(k, 0.0) + v
    got = {k: v for k, v in merged.items() if summable(k[0])}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v), k
    # the same in figures one can check by hand
    assert merged[key(REQUESTS, side="client", service_type="REST")] == 3
    assert merged[key(REQUESTS, side="server", service_type="WSDL")] == 2
    assert merged[key(REQUESTS, side="client", service_type="SOAP")] == 1
    assert merged[key(FAILURES, side="server", code="server.serverproxy.access_denied")] == 2
    assert merged[key(FAILURES, side="client", code="server.clientproxy.network_error")] == 1
    assert merged[key("sild_gateway_messagelog_appends_total")] == 5
    assert merged[key(DURATION + "_count", side="client", service_type="REST")] == 3
    assert merged[key(DURATION + "_sum", side="client", service_type="REST")] == pytest.approx(7.32)
    assert merged[key(DURATION + "_bucket", side="client", service_type="REST", le="0.025")] == 1
    assert merged[key(DURATION + "_bucket", side="client", service_type="REST", le="0.5")] == 2
    assert merged[key(DURATION + "_bucket", side="client", service_type="REST", le="10.0")] == 3
    assert merged[key(DURATION + "_bucket", side="client", service_type="REST", le="+Inf")] == 3


def test_gauges_come_from_the_main_process_only(three: Three) -> None:
    main, _, _, directory = three
    state = {"overdue": False}
    main.bind_overdue(lambda: state["overdue"])
    merged = rendered(main, directory)
    assert merged[key(LAST_SUCCESS)] == 1_700_000_000
    assert merged[key(OVERDUE)] == 0
    state["overdue"] = True
    assert rendered(main, directory)[key(OVERDUE)] == 1


def test_created_is_the_earliest(tmp_path: Path) -> None:
    early, late = GatewayMetrics(), GatewayMetrics()
    early.observe("client", "REST", 0.1)  # the series is created now in the "worker"
    time.sleep(0.01)
    late.observe("client", "REST", 0.1)
    early.dump(tmp_path / "w.prom")
    created = key("sild_gateway_requests_created", side="client", service_type="REST")
    early_created, late_created = rendered(early)[created], rendered(late)[created]
    assert early_created < late_created
    merged = rendered(late, tmp_path)
    assert merged[created] == early_created
    assert merged[key(DURATION + "_created", side="client", service_type="REST")] == rendered(early)[
        key(DURATION + "_created", side="client", service_type="REST")
    ]


def test_output_is_one_family_each_and_in_the_same_shape(three: Three) -> None:
    main, _, _, directory = three
    body, _ = main.render(include=directory)
    families = [f.name for f in text_string_to_metric_families(body.decode())]
    assert len(families) == len(set(families))
    alone = [f.name for f in text_string_to_metric_families(main.render()[0].decode())]
    assert families[: len(alone)] == alone
    assert body.count(b"# TYPE sild_gateway_requests_total counter\n") == 1


def test_without_include_nothing_changes(three: Three) -> None:
    main, _, _, _ = three
    body, content_type = main.render()
    assert body == generate_latest(main.registry)
    assert content_type == CONTENT_TYPE_LATEST


def test_empty_and_missing_directories_give_this_process_alone(three: Three, tmp_path: Path) -> None:
    main, _, _, _ = three
    empty = tmp_path / "empty"
    empty.mkdir()
    alone = rendered(main)
    assert rendered(main, empty) == alone
    assert rendered(main, tmp_path / "missing") == alone


def test_a_corrupt_file_is_skipped_with_a_warning(three: Three, caplog: pytest.LogCaptureFixture) -> None:
    main, w1, w2, directory = three
    (directory / "broken.prom").write_bytes(b"sild_gateway_requests_total{side=\"client\" 12 garbage\n")
    (directory / "binary.prom").write_bytes(b"\xff\xfe\x00 not text")
    with caplog.at_level(logging.WARNING, logger="gateway.monitoring._metrics"):
        merged = rendered(main, directory)
    assert merged[key(REQUESTS, side="client", service_type="REST")] == 3  # the good dumps still count
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "broken.prom" in warned and "binary.prom" in warned


def test_foreign_and_inconsistent_families_are_ignored(three: Three, caplog: pytest.LogCaptureFixture) -> None:
    main, _, _, directory = three
    (directory / "foreign.prom").write_text(
        "# TYPE node_load1 gauge\nnode_load1 4\n"
        "# TYPE sild_gateway_requests gauge\nsild_gateway_requests{side=\"client\",service_type=\"REST\"} 100\n"
        "# TYPE sild_gateway_messagelog_appends_total counter\nsild_gateway_messagelog_appends_total -50\n"
        "# TYPE sild_gateway_messagelog_timestamping_overdue gauge\nsild_gateway_messagelog_timestamping_overdue 1\n"
        "# TYPE sild_gateway_request_duration_seconds histogram\n"
        "sild_gateway_request_duration_seconds_bucket{side=\"client\",service_type=\"REST\",le=\"1.0\"} 40\n"
        "sild_gateway_request_duration_seconds_bucket{side=\"client\",service_type=\"REST\",le=\"+Inf\"} 40\n"
        "sild_gateway_request_duration_seconds_count{side=\"client\",service_type=\"REST\"} 40\n"
        "sild_gateway_request_duration_seconds_sum{side=\"client\",service_type=\"REST\"} 4\n"
    )
    with caplog.at_level(logging.WARNING, logger="gateway.monitoring._metrics"):
        merged = rendered(main, directory)
    assert key("node_load1") not in merged
    assert key("sild_gateway_requests", side="client", service_type="REST") not in merged
    assert merged[key(REQUESTS, side="client", service_type="REST")] == 3
    assert merged[key("sild_gateway_messagelog_appends_total")] == 5
    assert merged[key(OVERDUE)] == 0
    assert merged[key(DURATION + "_count", side="client", service_type="REST")] == 3
    assert merged[key(DURATION + "_bucket", side="client", service_type="REST", le="+Inf")] == 3
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "buckets" in warned and "not negative" in warned and "type gauge" in warned


def test_histogram_count_must_match_its_inf_bucket(three: Three) -> None:
    main, w1, _, directory = three
    text = w1.render()[0].decode()
    inf = 'sild_gateway_request_duration_seconds_count{service_type="REST",side="client"} 2.0'
    assert inf in text
    (directory / "worker-1.prom").write_text(text.replace(inf, inf.replace("2.0", "9.0")))
    merged = rendered(main, directory)
    assert merged[key(DURATION + "_count", side="client", service_type="REST")] == 1  # main's alone
    assert merged[key(REQUESTS, side="client", service_type="REST")] == 3  # other families of the file count


def test_only_visible_regular_prom_files_are_read(three: Three) -> None:
    main, w1, _, directory = three
    w1.dump(directory / "worker-1.prom")
    (directory / ".worker-3.prom.tmp1234").write_bytes(w1.render()[0])  # a temporary file of write_atomic
    (directory / ".hidden.prom").write_bytes(w1.render()[0])
    (directory / "worker-4.txt").write_bytes(w1.render()[0])
    (directory / "link.prom").symlink_to(directory / "worker-1.prom")
    assert rendered(main, directory)[key(REQUESTS, side="client", service_type="REST")] == 3


def test_what_is_read_is_bounded(three: Three, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    main, w1, _, directory = three
    huge = w1.render()[0] + b"# padding\n" * (metrics_module.MAX_INCLUDED_FILE_BYTES // 10)
    (directory / "worker-0.prom").write_bytes(huge)  # sorts first; valid, but too large
    with caplog.at_level(logging.WARNING, logger="gateway.monitoring._metrics"):
        assert rendered(main, directory)[key(REQUESTS, side="client", service_type="REST")] == 3
    assert "worker-0.prom" in caplog.text and "larger than" in caplog.text
    (directory / "worker-0.prom").unlink()
    monkeypatch.setattr(metrics_module, "MAX_INCLUDED_FILES", 1)
    # only worker-1.prom (the first by name) is merged, worker-2's SOAP series is left out
    merged = rendered(main, directory)
    assert merged[key(REQUESTS, side="client", service_type="REST")] == 3
    assert key(REQUESTS, side="client", service_type="SOAP") not in merged


def test_dump_is_atomic_and_insists_on_the_suffix(tmp_path: Path) -> None:
    m = GatewayMetrics()
    m.observe("server", "REST", 0.1)
    target = tmp_path / "d" / "worker-1.prom"
    m.dump(target)
    assert parse(target.read_bytes())[key(REQUESTS, side="server", service_type="REST")] == 1
    m.observe("server", "REST", 0.1)
    m.dump(target)
    assert parse(target.read_bytes())[key(REQUESTS, side="server", service_type="REST")] == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["worker-1.prom"]  # no temporary file left
    for bad in ("worker-1.txt", ".worker-1.prom"):
        with pytest.raises(ValueError):
            m.dump(tmp_path / bad)


def test_a_retired_worker_keeps_counting_so_sums_never_drop(three: Three, caplog: pytest.LogCaptureFixture) -> None:
    main, w1, w2, directory = three
    dump = directory / "worker-1.prom"
    before = rendered(main, directory)
    main.retire(dump)  # worker 1 exited
    assert not dump.exists() and (directory / metrics_module.RETIRED_FILE).exists()
    assert rendered(main, directory) == before
    successor = GatewayMetrics()  # worker 1 again, counting from zero under the same name
    successor.observe("client", "REST", 0.1)
    successor.dump(dump)
    after = rendered(main, directory)
    assert after[key(REQUESTS, side="client", service_type="REST")] == 4
    for k, v in before.items():
        if summable(k[0]):
            assert after[k] >= v, k  # monotonic: no reset for Prometheus to misread
    main.retire(dump)  # and it exits too: the retired file now holds both
    assert rendered(main, directory) == after
    retired = parse((directory / metrics_module.RETIRED_FILE).read_bytes())
    assert retired[key(REQUESTS, side="client", service_type="REST")] == 3  # w1's 2 and the successor's 1
    assert key(LAST_SUCCESS) not in retired  # gauges are the main process's
    # nothing dumped: nothing to do; a corrupt dump is removed without changing the sums
    main.retire(directory / "worker-9.prom")
    (directory / "worker-8.prom").write_bytes(b"{{{ not a dump")
    with caplog.at_level(logging.WARNING, logger="gateway.monitoring._metrics"):
        main.retire(directory / "worker-8.prom")
    assert "worker-8.prom" in caplog.text
    assert not (directory / "worker-8.prom").exists()
    assert rendered(main, directory) == after
    with pytest.raises(ValueError):
        main.retire(directory / metrics_module.RETIRED_FILE)
