"""A gateway directory as ``sild gateway backup|restore`` sees it: what is state, whose it is, PostgreSQL too."""

from __future__ import annotations

import os
import tarfile

import pytest
from click.testing import CliRunner

from gateway.cli import _main as sild_cli
from gateway.db import open_engine
from gateway.provision import GATEWAY_BACKUP, init_gateway
from gateway.serverconf import ServerConf
from trust.keys import KeyType
from trust.protocol import parse_client

from tests.pgserver import temporary_database

PIN = "backup-test-pin"
PG_URL = os.environ.get("SILD_TEST_POSTGRES_URL")
TAX = parse_client("EE/GOV/70000001/tax")


def _sild(*args: str, env: dict[str, str] | None = None):
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    return CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN, **(env or {})})


def _clients(url) -> set:
    engine = open_engine(url)
    try:
        return {c.id for c in ServerConf(engine, refresh_interval=0).list_clients()}
    finally:
        engine.dispose()


def _gateway(path, server="EE/GOV/70000001/gw1", **settings):
    init_gateway(path, anchor=None, server=server, pin=PIN, key_type=KeyType.EC_P256,
                 settings={"is_port": 0, "peer_port": 0, **settings})
    return path


def test_a_gateway_backup_holds_its_state_and_not_its_downloaded_configuration(tmp_path):
    gdir = _gateway(tmp_path / "gw")
    assert _sild("gateway", "client", "add", str(gdir), TAX.to_text()).exit_code == 0
    (gdir / "conf" / "EE").mkdir()
    (gdir / "conf" / "EE" / "shared-params.xml").write_text("<downloaded/>")
    (gdir / "conf" / "high-water.json").write_text('{"EE": "2026-12-07T00:00:00+00:00"}')
    result = _sild("gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.tar.gz"))
    assert result.exit_code == 0, result.output
    assert "gateway EE/GOV/70000001/gw1" in result.output and "not encrypted" in result.output
    with tarfile.open(tmp_path / "gw.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"node/gateway.json", "node/csr/auth.csr.pem", "node/serverconf.db", "manifest.json"} <= names
    assert any(n.startswith("node/token/") for n in names)
    assert [n for n in names if n.startswith("node/conf/")] == ["node/conf/high-water.json"]

    restored = tmp_path / "restored"
    result = _sild("gateway", "restore", str(restored), str(tmp_path / "gw.tar.gz"))
    assert result.exit_code == 0, result.output
    assert ".venv/bin/sild gateway serve" in result.output
    assert (restored / "gateway.json").read_bytes() == (gdir / "gateway.json").read_bytes()
    assert _clients(restored / "serverconf.db") == {TAX}


def test_another_gateway_is_refused_in_one_line_unless_forced(tmp_path):
    _gateway(tmp_path / "gw1")
    other = _gateway(tmp_path / "gw2", server="EE/GOV/70000001/gw2")
    env = {"BACKUP_PASS": "pass phrase"}
    assert _sild("gateway", "backup", str(tmp_path / "gw1"), "--out", str(tmp_path / "gw1.bak"),
                 "--passphrase-env", "BACKUP_PASS", env=env).exit_code == 0
    refused = _sild("gateway", "restore", str(other), str(tmp_path / "gw1.bak"), "--passphrase-env", "BACKUP_PASS",
                    env=env)
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        f"sild: error: the backup is of gateway EE/GOV/70000001/gw1, but {other} is EE/GOV/70000001/gw2; "
        f"--force replaces it [trust.backup.refused]"]
    no_pass = _sild("gateway", "backup", str(tmp_path / "gw1"), "--out", str(tmp_path / "x.bak"),
                    "--passphrase-env", "UNSET_VARIABLE")
    assert no_pass.exit_code == 1 and "UNSET_VARIABLE holds no passphrase" in no_pass.output
    forced = _sild("gateway", "restore", str(other), str(tmp_path / "gw1.bak"), "--passphrase-env", "BACKUP_PASS",
                   "--force", env=env)
    assert forced.exit_code == 0, forced.output
    assert GATEWAY_BACKUP.identity(other) == "EE/GOV/70000001/gw1"


def test_a_gateway_listening_on_its_port_is_not_restored(tmp_path):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        gdir = _gateway(tmp_path / "gw", peer_port=port)
        assert _sild("gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.tar.gz")).exit_code == 0
        refused = _sild("gateway", "restore", str(gdir), str(tmp_path / "gw.tar.gz"))
    assert refused.exit_code == 1
    assert f"something listens on 127.0.0.1:{port}, a port of the gateway in {gdir}" in refused.output


@pytest.fixture
def pg_database():
    if not PG_URL:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(PG_URL, "bk") as url:
        yield url


def test_server_configuration_on_postgresql_is_dumped_and_restored(tmp_path, pg_database):
    gdir = _gateway(tmp_path / "gw", serverconf_url=pg_database)
    assert _sild("gateway", "client", "add", str(gdir), TAX.to_text()).exit_code == 0
    result = _sild("gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.tar.gz"))
    assert result.exit_code == 0, result.output
    with tarfile.open(tmp_path / "gw.tar.gz") as tar:
        assert "postgresql/serverconf.dump" in tar.getnames()
    engine = open_engine(pg_database)
    try:
        ServerConf(engine, refresh_interval=0).remove_client(TAX)
    finally:
        engine.dispose()
    assert _clients(pg_database) == set()
    result = _sild("gateway", "restore", str(gdir), str(tmp_path / "gw.tar.gz"))
    assert result.exit_code == 0, result.output
    assert _clients(pg_database) == {TAX}
    assert "the replaced directory is kept as " + str(tmp_path / "gw.replaced-") in result.output


def test_the_passphrase_can_be_typed_at_a_hidden_prompt(tmp_path):
    gdir = _gateway(tmp_path / "gw")
    sild_cli._register()  # noqa: SLF001
    result = CliRunner().invoke(sild_cli.cli, ["gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.bak"),
                                               "--encrypt"], input="typed phrase\ntyped phrase\n")
    assert result.exit_code == 0, result.output
    assert "typed phrase" not in result.output and ", encrypted," in result.output
    restored = _sild("gateway", "restore", str(tmp_path / "r"), str(tmp_path / "gw.bak"), "--passphrase-env", "P",
                     env={"P": "typed phrase"})
    assert restored.exit_code == 0, restored.output
    unprompted = _sild("gateway", "restore", str(tmp_path / "r2"), str(tmp_path / "gw.bak"))
    assert unprompted.exit_code == 1 and "the backup is encrypted: give its passphrase" in unprompted.output


def test_a_restore_drill_runs_beside_the_listening_gateway_and_its_copy_is_not_served(tmp_path):
    import socket

    with socket.socket() as live:
        live.bind(("127.0.0.1", 0))
        live.listen()
        port = live.getsockname()[1]
        gdir = _gateway(tmp_path / "gw", peer_port=port)
        assert _sild("gateway", "client", "add", str(gdir), TAX.to_text()).exit_code == 0
        assert _sild("gateway", "backup", str(gdir), "--out", str(tmp_path / "gw.tar.gz")).exit_code == 0
        copy = tmp_path / "drill"
        plain = _sild("gateway", "restore", str(copy), str(tmp_path / "gw.tar.gz"))
        assert plain.exit_code == 1 and f"listens on 127.0.0.1:{port}" in plain.output and not copy.exists()
        drill = _sild("gateway", "restore", str(copy), str(tmp_path / "gw.tar.gz"), "--drill")
        assert drill.exit_code == 0, drill.output
        lines = drill.output.splitlines()
        assert lines[0].startswith("restore drill: gateway EE/GOV/70000001/gw1 (backup of ")
        assert lines[0].endswith(f"restored into {copy}: 6 files, 1 SQLite database checked"), lines[0]
        assert "  instance EE, gateway EE/GOV/70000001/gw1" in lines
        assert "  keys in the soft token: auth, sign" in lines and "  certificates: none" in lines
        assert lines[-1] == (f"`serve` refuses this copy; to make it a real gateway, stop the original and "
                             f"remove {copy / 'RESTORE-DRILL'}")
        assert _clients(copy / "serverconf.db") == {TAX}
        status = _sild("gateway", "status", str(copy))
        assert "EE/GOV/70000001/gw1" in status.output, status.output
        served = _sild("gateway", "serve", str(copy))
        assert served.exit_code == 1
        assert served.output.strip().splitlines() == [
            f"sild: error: {copy} is a restore drill's copy, not a node to serve; to make it a real gateway, "
            f"stop the original and remove {copy / 'RESTORE-DRILL'} [trust.backup.refused]"]
        _repack_gateway(tmp_path / "gw.tar.gz", tmp_path / "bad.tar.gz")
        tampered = _sild("gateway", "restore", str(tmp_path / "drill2"), str(tmp_path / "bad.tar.gz"), "--drill")
        assert tampered.exit_code == 1 and "differs from its manifest" in tampered.output, tampered.output
        assert not (tmp_path / "drill2").exists()


def _repack_gateway(source, target) -> None:
    """``source`` with its ``gateway.json`` changed after the manifest was written (a tampered archive)."""
    import gzip
    import io

    out = io.BytesIO()
    with tarfile.open(source) as tar, tarfile.open(fileobj=out, mode="w") as new:
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == "node/gateway.json" and data is not None:
                data = data.replace(b"gw1", b"gw9")
                member.size = len(data)
            new.addfile(member, io.BytesIO(data) if data is not None else None)
    target.write_bytes(gzip.compress(out.getvalue()))


@pytest.mark.parametrize("role", ["central", "trust"])
def test_the_authority_and_the_trust_services_refuse_to_serve_a_drill_copy(tmp_path, role):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "RESTORE-DRILL").write_text("a drill's copy\n")
    served = _sild(role, "serve", str(copy), "--port", "0")
    assert served.exit_code == 1
    assert f"{copy} is a restore drill's copy, not a node to serve" in served.output, served.output
