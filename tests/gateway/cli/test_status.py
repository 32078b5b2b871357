"""``sild gateway status`` and ``sild gateway ocsp refresh`` on a gateway directory with real stored
configuration (signed, served over HTTP, downloaded by the configuration client)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from federation.anchor import write_anchor
from federation.client import ClientConfig, ConfigurationClient
from federation.model import ConfigurationSource
from gateway.cli import cli
from gateway.node import status_lines
from trust.keys import KeyType

from tests.federation.client.client_support import Authority, sample_private
from tests.federation.directory_support import ConfServer, make_signing_identity
from tests.gateway._world import TAX

FRESHNESS = 1800


@pytest.fixture(scope="module")
def stored(world, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Authority, dict[str, bytes]]]:  # type: ignore[no-untyped-def]
    """The TAX gateway's directory with the world's EE configuration downloaded into ``conf/``."""
    node = world.gateway_of(TAX)
    signer = make_signing_identity(tmp_path_factory.mktemp("conf-token"), KeyType.EC_P256)
    server = ConfServer().start()
    try:
        authority = Authority("EE", signer, server)
        # a freshness other than the default: the status must take it from the downloaded configuration
        shared = replace(world.shared["EE"], sources=(ConfigurationSource("127.0.0.1"),), ocsp_freshness_seconds=FRESHNESS)
        older = authority.publish(shared, sample_private("EE"), expire=world.expires["EE"] - dt.timedelta(hours=1))
        authority.publish(shared, sample_private("EE"), expire=world.expires["EE"])
        (node.directory / "anchor.xml").write_bytes(write_anchor(authority.anchor()))
        client = ConfigurationClient(ClientConfig(anchor=authority.anchor(), directory=node.directory / "conf"))
        assert client.refresh(dt.datetime.now(dt.timezone.utc)).ok
        yield node.directory, authority, older
    finally:
        server.stop()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_status_speaks_sentences_not_python_values(stored) -> None:  # type: ignore[no-untyped-def]
    directory, _, _ = stored
    code, out = _run("gateway", "status", str(directory))
    assert code == 0, out
    for raw in ("None", "{", "}", "True", "False", "'"):
        assert raw not in out, f"{raw!r} in:\n{out}"
    lines = out.splitlines()
    assert lines[0] == "gateway EE/GOV/70000001/gw1 (EE)"
    assert "  registration: registered" in lines
    assert any(line.startswith("  configuration EE: valid until ") and ", downloaded " in line for line in lines), out
    ocsp = next(line for line in lines if line.startswith("  OCSP: "))
    assert "every 600 s" in ocsp and f"peers accept a response for {FRESHNESS} s after its thisUpdate" in ocsp
    auth = next(line for line in lines if line.startswith("    auth (serial "))
    assert ": good, thisUpdate " in auth and "accepted until" in auth and "next refresh" in auth
    assert any(line.startswith("  timestamping: last success ") for line in lines), out
    assert "WARNING" not in out


def test_status_warns_when_the_refresh_interval_leaves_no_room_for_a_failed_fetch() -> None:
    data = {"server": "EE/GOV/70000001/gw1", "instance": "EE", "registration": "registered", "configuration": {},
            "ocsp": {"refresh_interval_seconds": 1200, "freshness_seconds": 1800, "certificates": {}},
            "timestamping": {}}
    warning = [line for line in status_lines(data) if "WARNING" in line]
    assert warning == ["    WARNING: ocsp_interval_seconds 1200 leaves less than two refreshes within "
                       "ocspFreshnessSeconds 1800: one failed fetch and peers refuse this gateway"]


def test_ocsp_refresh_fetches_now_and_reports_each_certificate(stored) -> None:  # type: ignore[no-untyped-def]
    directory, _, _ = stored
    before = json.loads((directory / "ocsp" / "status.json").read_text())["last_refresh"]
    code, out = _run("gateway", "ocsp", "refresh", str(directory), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["last_error"] is None and data["last_refresh"] != before
    assert data["freshness_seconds"] == FRESHNESS and data["refresh_interval_seconds"] == 600
    assert set(data["certificates"]) == {"auth", "sign"}
    auth = data["certificates"]["auth"]
    this_update = dt.datetime.fromisoformat(auth["this_update"].replace("Z", "+00:00"))
    assert auth["status"] == "good"
    assert auth["accepted_until"] == (this_update + dt.timedelta(seconds=FRESHNESS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refreshed = dt.datetime.fromisoformat(data["last_refresh"].replace("Z", "+00:00"))
    assert auth["next_refresh"] == (refreshed + dt.timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out = _run("gateway", "ocsp", "refresh", str(directory))
    assert code == 0 and out.startswith("  OCSP: last refresh ") and "    sign (serial " in out, out


def test_a_refused_rollback_shows_in_status(stored) -> None:  # type: ignore[no-untyped-def]
    directory, authority, older = stored
    authority.server.files.update(older)  # a replay of the older generation on the distribution path
    anchor = (directory / "anchor.xml").read_bytes()
    code, out = _run("conf", "fetch", "--anchor", str(directory / "anchor.xml"), "--dir", str(directory / "conf"))
    assert code == 1 and "FAILED [federation.conf.rolled_back]" in out
    assert (directory / "anchor.xml").read_bytes() == anchor
    code, out = _run("gateway", "status", str(directory))
    assert "  configuration EE: valid until " in out
    failed = next(line for line in out.splitlines() if "FAILED" in line)
    assert "[federation.conf.rolled_back]" in failed and "the stored copy stays in use" in failed
    data = json.loads(_run("gateway", "status", str(directory), "--json")[1])
    assert data["configuration"]["EE"]["error"]["code"] == "federation.conf.rolled_back"
    assert data["configuration"]["EE"]["valid"] is True


def test_a_fresh_gateway_says_nothing_was_downloaded_and_ocsp_refresh_says_why_not(tmp_path: Path) -> None:
    from federation.model import AnchorSource, ConfigurationAnchor
    from gateway.provision import init_gateway

    signer = make_signing_identity(tmp_path / "token", KeyType.EC_P256)
    anchor = tmp_path / "anchor.xml"
    anchor.write_bytes(write_anchor(ConfigurationAnchor("EE", (AnchorSource("http://127.0.0.1:9/internalconf", (signer.der,)),))))
    gdir = tmp_path / "gw"
    init_gateway(gdir, anchor=anchor, server="EE/GOV/70000001/gw9", pin="fresh-pin", key_type=KeyType.EC_P256)
    code, out = _run("gateway", "status", str(gdir))
    assert code == 0, out
    assert out.splitlines()[2:4] == ["  configuration: none downloaded yet",
                                     "  OCSP: last refresh never, every 600 s; peers accept a response for 3600 s after its thisUpdate"]
    result = CliRunner().invoke(cli, ["gateway", "ocsp", "refresh", str(gdir)], env={"SILD_TOKEN_PIN": "fresh-pin"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"sild: error: no global configuration of EE stored in {gdir / 'conf'} yet: it names the CAs and their OCSP "
        f"responders; start the node first (.venv/bin/sild gateway serve {gdir}) [gateway.setup.error]"]


def test_status_ends_with_the_health_verdict_and_its_inputs(stored, world) -> None:  # type: ignore[no-untyped-def]
    directory, _, _ = stored
    code, out = _run("gateway", "status", str(directory))
    assert code == 0, out
    lines = out.splitlines()
    assert "  maintenance mode: off" in lines, out
    tsa = next(line for line in lines if line.startswith("  TSA EE TSA ("))
    assert f"({world.trust_servers['EE'].url}/tsa, in use): last timestamp " in tsa
    assert any(line.startswith("  message log: ") and " records, " in line for line in lines), out
    code, raw = _run("gateway", "status", str(directory), "--json")
    data = json.loads(raw)
    # traffic passes; a failed download (the rollback test of this module) is only a warning while the copy is valid
    assert data["health"]["code"] == "ok" and data["health"]["status"] in ("ok", "degraded")
    error = data["configuration"]["EE"].get("error")
    assert [(p["severity"], p["code"]) for p in data["health"]["problems"]] == \
        ([("warning", error["code"])] if error else [])
    assert f"  health: {data['health']['status'].upper()}" in lines
    assert set(data["message_log"]) == {"records", "bytes", "unstamped", "archive_backlog", "last_archive"}
