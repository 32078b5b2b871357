"""``sild gateway cluster export|join|haproxy-config`` and ``sild gateway drain`` as an operator types them."""

from __future__ import annotations

from click.testing import CliRunner

from gateway.cli import _main as sild_cli
from gateway.provision import init_gateway
from gateway.settings import NodeSettings
from trust.keys import KeyType

PIN = "cluster-cli-pin"
SHARED = "postgresql+psycopg://sild@db.example:5432/serverconf"


def _run(*args: str, **env: str):
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    return CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN, **env})


def test_export_join_and_the_balancer_s_configuration(tmp_path):
    primary = tmp_path / "gw1"
    init_gateway(primary, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"serverconf_url": SHARED, "health_port": 15588, "is_port": 18080, "peer_port": 15500})
    exported = _run("gateway", "cluster", "export", str(primary), "--out", str(tmp_path / "b.bundle"),
                    SILD_CLUSTER_PASSPHRASE="long enough")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "b.bundle").stat().st_mode & 0o077 == 0
    wrong = _run("gateway", "cluster", "join", str(tmp_path / "x"), "--bundle", str(tmp_path / "b.bundle"),
                 "--is-port", "28080", "--peer-port", "25500", "--health-port", "25588", SILD_CLUSTER_PASSPHRASE="guess")
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.output and not (tmp_path / "x").exists()
    joined = _run("gateway", "cluster", "join", str(tmp_path / "gw1-node2"), "--bundle", str(tmp_path / "b.bundle"),
                  "--is-port", "28080", "--peer-port", "25500", "--health-port", "25588",
                  SILD_CLUSTER_PASSPHRASE="long enough")
    assert joined.exit_code == 0, joined.output
    assert NodeSettings.load(tmp_path / "gw1-node2").peer_port == 25500
    config = _run("gateway", "cluster", "haproxy-config", str(primary), f"{tmp_path / 'gw1-node2'}@10.0.0.12",
                  "--is-listen", "127.0.0.1:8080", "--peer-listen", "0.0.0.0:5500")
    assert config.exit_code == 0, config.output
    assert "server node1 127.0.0.1:15500 check port 15588" in config.output
    assert "server node2 10.0.0.12:25500 check port 25588" in config.output
    bad = _run("gateway", "cluster", "haproxy-config", str(primary), "--is-listen", "nowhere", "--peer-listen", ":1")
    assert bad.exit_code == 2 and "is not HOST:PORT" in bad.output


def test_draining_a_node_that_does_not_run_is_one_line(tmp_path):
    result = _run("gateway", "drain", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"sild: error: no node serves {tmp_path}: nothing to drain [gateway.setup.error]"
