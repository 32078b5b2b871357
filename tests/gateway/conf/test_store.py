"""The gateway's configuration store against a real signed configuration on a real HTTP server:
a replayed older directory is refused, logged, kept out of the proxies' view and counted in the metrics."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Iterator

import pytest

from federation.anchor import write_anchor
from gateway.conf import ConfStore
from gateway.monitoring import GatewayMetrics
from gateway.node._jobs import NodeJobs
from gateway.settings import NodeSettings
from trust.keys import KeyType

from tests.federation.client.client_support import Authority, sample_private, sample_shared
from tests.federation.directory_support import ConfServer, make_signing_identity
from tests.gateway.monitoring.test_metrics_workers import key, rendered

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MINUTE = dt.timedelta(minutes=1)


class _Jobs(NodeJobs):
    """The jobs part of a node over a real configuration store, without ports or keys."""

    def __init__(self, store: ConfStore, metrics: GatewayMetrics) -> None:
        self.conf_store, self.metrics = store, metrics

    def _reload_cas(self) -> None:
        pass  # no mutual-TLS port here


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    server = ConfServer().start()
    try:
        yield Authority("EE", make_signing_identity(tmp_path / "token", KeyType.EC_P256), server)
    finally:
        server.stop()


def test_a_replayed_older_directory_is_refused_logged_and_counted(tmp_path: Path, authority: Authority,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    older = authority.publish(sample_shared("EE", name="Old board"), sample_private("EE"), expire=AT + 10 * MINUTE)
    authority.publish(sample_shared("EE", name="New board"), sample_private("EE"), expire=AT + 20 * MINUTE)
    gdir = tmp_path / "gw"
    gdir.mkdir()
    (gdir / "anchor.xml").write_bytes(write_anchor(authority.anchor()))
    now = [AT]
    settings = NodeSettings(server="EE/GOV/70000001/ss1", instance="EE")
    store = ConfStore(gdir, settings, clock=lambda: now[0])
    metrics = GatewayMetrics()
    node = _Jobs(store, metrics)
    node.refresh_conf()  # the node's job: download, then tell the metrics
    assert store.current()["EE"].expires_at == AT + 20 * MINUTE

    authority.server.files.update(older)
    now[0] = AT + MINUTE
    with caplog.at_level(logging.WARNING):
        node.refresh_conf()
    report = store.last_report
    assert [o.code for o in report.outcomes] == ["federation.conf.rolled_back"]
    assert store.current()["EE"].expires_at == AT + 20 * MINUTE  # the proxies keep the newer copy
    assert store.current()["EE"].shared.members[0].name == "New board"
    assert any("federation.conf.rolled_back" in r.getMessage() for r in caplog.records)
    assert store.status()["EE"]["error"]["code"] == "federation.conf.rolled_back"
    figures = rendered(metrics)
    assert figures[key("sild_gateway_configuration_rollbacks_refused_total", instance="EE")] == 1
    assert figures[key("sild_gateway_configuration_expiry_seconds", instance="EE")] == (AT + 20 * MINUTE).timestamp()

    # a node restarting on the same directory refuses the replay again
    again = ConfStore(gdir, settings, clock=lambda: AT + 2 * MINUTE)
    assert [o.code for o in again.refresh().outcomes] == ["federation.conf.rolled_back"]
    assert again.current()["EE"].shared.members[0].name == "New board"
