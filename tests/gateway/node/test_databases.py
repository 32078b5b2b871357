"""Where a gateway keeps its databases: SQLite in its directory, or PostgreSQL URLs from gateway.json."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from gateway.cli import _main as sild_cli
from gateway.serverconf import ServerConf
from gateway.db import open_engine
from gateway.provision import init_gateway
from gateway.settings import NodeSettings, SetupError
from trust.protocol import parse_client
from trust.keys import KeyType

from tests.pgserver import temporary_database

PIN = "db-test-pin"
PG_URL = os.environ.get("SILD_TEST_POSTGRES_URL")


def test_defaults_are_files_in_the_gateway_directory(tmp_path):
    settings = init_gateway(tmp_path / "gw", anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256)
    assert settings.serverconf_database(tmp_path / "gw") == tmp_path / "gw" / "serverconf.db"
    assert settings.messagelog_database(tmp_path / "gw") == tmp_path / "gw" / "messagelog.db"
    assert settings.messagelog_synchronous == "FULL"  # evidence survives a power loss
    assert settings.messagelog_cache_mib == 64
    assert NodeSettings.load(tmp_path / "gw") == settings


def test_the_message_log_cache_is_set_on_its_sqlite_connections(tmp_path):
    """SQLite's 2 MiB default page cache re-reads a large log's index pages on every insert."""
    engine = open_engine(tmp_path / "log.db", cache_kib=64 * 1024)
    default = open_engine(tmp_path / "other.db")
    try:
        with engine.connect() as conn, default.connect() as plain:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024
            assert plain.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's own default
    finally:
        engine.dispose()
        default.dispose()
    with pytest.raises(ValueError):
        open_engine(tmp_path / "bad.db", cache_kib=-5)


@pytest.mark.parametrize(
    ("field", "value"),
    [("serverconf_url", "serverconf.db"), ("messagelog_url", "/var/lib/x.db"), ("messagelog_synchronous", "SOMETIMES"),
     ("messagelog_cache_mib", -1), ("messagelog_cache_mib", "lots"),
     ("ocsp_interval_seconds", 0), ("ocsp_interval_seconds", 59), ("ocsp_interval_seconds", "600")],
)
def test_bad_database_settings_are_refused(tmp_path, field, value):
    with pytest.raises(SetupError, match=field):
        init_gateway(tmp_path / "gw", anchor=None, server="EE/GOV/70000001/gw1", pin=PIN,
                     key_type=KeyType.EC_P256, settings={field: value})


@pytest.fixture
def pg_database():
    """A fresh database on the test run's PostgreSQL server."""
    if not PG_URL:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(PG_URL, "gw") as url:
        yield url


def test_the_admin_cli_uses_the_server_configuration_url(tmp_path, pg_database):
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"serverconf_url": pg_database})
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    result = CliRunner().invoke(sild_cli.cli, ["gateway", "client", "add", str(gdir), "EE/GOV/70000001/tax"],
                                env={"SILD_TOKEN_PIN": PIN}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not (gdir / "serverconf.db").exists()  # nothing went to the default SQLite file
    engine = open_engine(pg_database)
    try:
        clients = {c.id for c in ServerConf(engine, refresh_interval=0).list_clients()}
    finally:
        engine.dispose()
    assert parse_client("EE/GOV/70000001/tax") in clients
