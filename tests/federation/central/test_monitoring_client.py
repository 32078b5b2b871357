"""The central monitoring client: set at the authority, published as MONITORING, downloaded and obeyed by a gateway.

The authority runs as its node (real HTTP on 127.0.0.1); the gateway side is its
configuration client and the op-monitoring rule of its server proxy, over the
directory the client stored. (``tests/gateway/monitoring/test_opmonitoring.py`` shows
the metaservices answering the client a stored part names.)
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from federation.anchor import parse_anchor
from federation.central._node import CentralNode, NodeConfig
from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, build_anchor, init_central
from federation.client import ClientConfig, ConfigurationClient
from federation.model import MONITORING
from gateway.cli import _main as sild_cli
from gateway.db import open_engine
from gateway.monitoring import MonitoringClientSource, OpMonitor
from gateway.proxy._opmonitoring import OpMonitoringService
from trust.protocol import MemberId, SubsystemId

from tests.federation.central.central_support import PIN
from tests.gateway._world import free_port

MONITOR = SubsystemId("EE", "GOV", "70000001", "monitoring")
OWNER = MemberId("EE", "GOV", "70000002")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def sild(*args: str) -> Result:
    return CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN}, catch_exceptions=False)


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = free_port()
    directory = tmp_path / "ee"
    init_central(str(directory), instance="EE", url=f"http://127.0.0.1:{port}", pin=PIN, now=_now())
    node = CentralNode(NodeConfig(directory=directory, port=port, pin=PIN, check_interval=0.2))
    node.start()
    thread = threading.Thread(target=node.serve_forever, daemon=True)
    thread.start()
    try:
        yield directory, port
    finally:
        node.stop()
        thread.join(timeout=10)


def test_set_generate_download_and_read_everything(authority: tuple[Path, int], tmp_path: Path) -> None:
    directory, _ = authority
    sild_cli._register()
    assert sild("central", "monitoring-client", "set", str(directory), "FI/GOV/1/x").exit_code != 0  # another instance
    done = sild("central", "monitoring-client", "set", str(directory), MONITOR.to_text())
    assert done.exit_code == 0, done.output
    assert sild("central", "monitoring-client", "show", str(directory)).output.strip() == MONITOR.to_text()
    assert sild("central", "generate", str(directory), "--force").exit_code == 0

    home = CentralDir(directory)
    anchor = parse_anchor(build_anchor(home, internal=True, now=_now()))
    home.close()
    conf_dir = tmp_path / "gw" / "conf"
    client = ConfigurationClient(ClientConfig(anchor=anchor, directory=conf_dir))
    assert client.refresh(_now()).ok
    assert (conf_dir / "EE" / "monitoring-params.xml").is_file()  # where the gateway reads it
    stored = (conf_dir / "EE" / "monitoring-params.xml.metadata").read_text()
    assert f'"contentIdentifier": "{MONITORING}"' in stored

    opmon = OpMonitoringService(OpMonitor(open_engine(tmp_path / "op.db")), OWNER,
                                MonitoringClientSource(conf_dir, "EE"))
    assert opmon.sees_everything(MONITOR) and opmon.sees_everything(OWNER)
    assert not opmon.sees_everything(SubsystemId("EE", "GOV", "70000001", "other"))

    assert sild("central", "monitoring-client", "clear", str(directory)).exit_code == 0
    assert sild("central", "generate", str(directory), "--force").exit_code == 0
    assert client.refresh(_now()).ok
    assert not (conf_dir / "EE" / "monitoring-params.xml").exists()
    assert not opmon.sees_everything(MONITOR)  # the gateway follows without a restart


def test_the_management_api(tmp_path: Path) -> None:
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=_now())
    app: Flask = create_app(CentralAppConfig(tmp_path / "ee"))
    registry = CentralDir(tmp_path / "ee").registry()
    officer = registry.create_api_key("officer", ["security-officer"])
    clerk = registry.create_api_key("clerk", ["registration-officer"])
    http = app.test_client()
    assert http.get("/api/v1/monitoring-client", headers={"X-API-Key": clerk}).json == {"monitoringClientId": None}
    denied = http.put("/api/v1/monitoring-client", json={"monitoringClientId": MONITOR.to_text()},
                      headers={"X-API-Key": clerk})
    assert denied.status_code == 403
    r = http.put("/api/v1/monitoring-client", json={"monitoringClientId": MONITOR.to_text()},
                 headers={"X-API-Key": officer})
    assert r.status_code == 200 and r.json == {"monitoringClientId": MONITOR.to_text()}
    bad = http.put("/api/v1/monitoring-client", json={"monitoringClientId": "EE/GOV"}, headers={"X-API-Key": officer})
    assert bad.status_code == 400
    other = http.put("/api/v1/monitoring-client", json={"monitoringClientId": "FI/GOV/1/x"}, headers={"X-API-Key": officer})
    assert other.status_code == 400 and "of this instance EE" in other.json["message"]
    r = http.delete("/api/v1/monitoring-client", headers={"X-API-Key": officer})
    assert r.status_code == 200 and r.json == {"monitoringClientId": None}


def test_only_the_internal_configuration_carries_the_part(tmp_path: Path) -> None:
    from federation.central import generate
    from federation.directory import verify_directory

    now = _now()
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=now)
    home = CentralDir(tmp_path / "ee")
    home.registry().set_monitoring_client(MONITOR)
    generate(home, home.token(PIN), now=now, force=True)

    def parts(kind: str, internal: bool) -> list[str]:
        data = (home.public_dir / "V6" / kind).read_bytes()
        verified = verify_directory(data, parse_anchor(build_anchor(home, internal=internal, now=now)), at=now,
                                    fetch_part=lambda loc: (home.public_dir / loc.lstrip("/")).read_bytes())
        return [p.content_identifier for p in verified.parts]

    assert parts("internalconf", True) == ["PRIVATE-PARAMETERS", "SHARED-PARAMETERS", MONITORING]
    assert parts("externalconf", False) == ["SHARED-PARAMETERS"]
    home.close()
