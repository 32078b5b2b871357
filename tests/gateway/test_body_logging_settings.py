"""``message_body_logging`` in ``gateway.json``, the subsystem overrides in the configuration, and how a node joins them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli._main import _register, cli
from gateway.db import open_engine
from gateway.messagelog import BodyLogging, LogEntry
from gateway.node._node import _messagelog_config
from gateway.serverconf import InvalidInput, ServerConf
from gateway.settings import NodeSettings, SetupError
from trust.protocol import MemberId, SubsystemId

TAX = SubsystemId("EE", "GOV", "70000001", "tax")
VERO = SubsystemId("FI", "GOV", "0245437-2", "vero")
BASE = {"server": "EE/GOV/70000001/gw1", "instance": "EE"}


def _entry(service_provider: SubsystemId, side: str) -> LogEntry:
    return LogEntry("q", TAX, service_provider.service("s"), side, "request", "SOAP", b"<x/>", b"<sig/>")


def test_settings_validate_and_round_trip(tmp_path: Path) -> None:
    settings = NodeSettings(**BASE, message_body_logging=False,
                            message_body_logging_remote_overrides=["FI/GOV/0245437-2/vero", "FI/GOV/0245437-2/vero"])
    assert settings.message_body_logging_remote_overrides == ("FI/GOV/0245437-2/vero",)
    settings.save(tmp_path)
    assert json.loads((tmp_path / "gateway.json").read_text())["message_body_logging"] is False
    assert NodeSettings.load(tmp_path) == settings
    assert NodeSettings(**BASE).message_body_logging is True  # X-Road's default: whole messages
    with pytest.raises(SetupError, match="subsystems, not the member"):
        NodeSettings(**BASE, message_body_logging_remote_overrides=["FI/GOV/0245437-2"])
    with pytest.raises(SetupError, match="message_body_logging_remote_overrides"):
        NodeSettings(**BASE, message_body_logging_remote_overrides=["FI/GOV"])
    with pytest.raises(SetupError, match="true or false"):
        NodeSettings(**BASE, message_body_logging="no")


def test_the_node_joins_setting_overrides_and_remote_list(tmp_path: Path) -> None:
    conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
    conf.add_client(TAX)
    settings = NodeSettings(**BASE, message_body_logging=False,
                            message_body_logging_remote_overrides=["FI/GOV/0245437-2/vero"])
    config = _messagelog_config(settings, conf)
    policy = config.body_policy
    assert isinstance(policy, BodyLogging) and config.body_logging is False
    assert policy(_entry(TAX, "server")) is False  # the global switch
    assert policy(_entry(VERO, "client")) is True  # X-Road's enabled-body-logging-remote-producer-subsystems
    conf.set_body_logging(TAX, True)
    assert policy(_entry(TAX, "server")) is True  # read live from the configuration
    with pytest.raises(InvalidInput, match="per subsystem"):
        conf.set_body_logging(MemberId("EE", "GOV", "70000001"), False)


def test_cli_sets_a_subsystem_override(tmp_path: Path) -> None:
    _register()
    d = str(tmp_path)

    def sild(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    assert sild("gateway", "client", "add", d, "EE/GOV/70000001/tax").exit_code == 0
    listed = sild("gateway", "client", "list", d, "--json")
    assert json.loads(listed.output)[0]["log_body"] == "default"
    assert sild("gateway", "client", "set", d, "EE/GOV/70000001/tax", "--log-body", "off").exit_code == 0
    assert json.loads(sild("gateway", "client", "list", d, "--json").output)[0]["log_body"] == "off"
    assert sild("gateway", "client", "set", d, "EE/GOV/70000001/tax", "--log-body", "default").exit_code == 0
    assert json.loads(sild("gateway", "client", "list", d, "--json").output)[0]["log_body"] == "default"
    bad = sild("gateway", "client", "set", d, "EE/GOV/70000001/tax", "--log-body", "maybe")
    assert bad.exit_code == 2
