"""A running gateway node's admin port: HTTPS with the node's own certificate, and what it reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import httpx
import pytest

from federation.model import MaintenanceMode
from gateway.admin import admin_client_context, admin_url
from gateway.node import status_lines
from gateway.serverconf import create_api_key

from tests.gateway._world import TAX, World

GW1 = "EE/GOV/70000001/gw1"


def _call(world: World, method: str, path: str, role: str = "viewer") -> httpx.Response:
    node = world.gateways[GW1]
    _kid, secret = create_api_key(node.serverconf, [role], f"node admin test {role}")
    return httpx.request(method, admin_url(node.directory) + path, headers={"Authorization": f"Bearer {secret}"},
                         verify=admin_client_context(node.directory), trust_env=False, timeout=30)


def test_the_node_serves_its_admin_api_over_https(world: World) -> None:
    url = admin_url(world.gateways[GW1].directory)
    assert url.startswith("https://127.0.0.1:")
    status = _call(world, "GET", "/api/v1/status")
    assert status.status_code == 200 and status.json()["security_server"] == GW1



def _diagnostics(world: World) -> dict:
    answer = _call(world, "GET", "/api/v1/diagnostics")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _tax_calls_vero(world: World) -> httpx.Response:
    """A REST request of TAX (on gw1) to VERO (FI): what traffic gets now."""
    node = world.gateways[GW1]
    return httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30, trust_env=False)


def test_diagnostics_count_the_log_and_name_each_tsas_last_timestamp(world: World) -> None:
    node = world.gateways[GW1]
    before = _diagnostics(world)
    assert before["health"] == {"status": "ok", "code": "ok", "problems": []}
    assert before["maintenance"] == {"enabled": False, "message": None}
    assert _tax_calls_vero(world).status_code == 200
    waiting = _diagnostics(world)
    assert waiting["message_log"]["records"] == before["message_log"]["records"] + 2  # request and response
    assert waiting["message_log"]["unstamped"] >= 2 and waiting["message_log"]["bytes"] > 0
    assert waiting["timestamping"]["oldest_unstamped_age_seconds"] >= 0
    assert node.timestamp_now() >= 2
    stamped = _diagnostics(world)
    tsa = stamped["timestamping"]["tsas"]
    assert [(t["name"], t["in_use"]) for t in tsa] == [("EE TSA", True)]
    assert tsa[0]["url"] == world.trust_servers["EE"].url + "/tsa"
    assert tsa[0]["last_timestamp"] is not None
    last = dt.datetime.fromisoformat(tsa[0]["last_timestamp"].replace("Z", "+00:00"))
    success = dt.datetime.fromisoformat(stamped["timestamping"]["last_timestamp_success"])
    assert abs(last - success) < dt.timedelta(seconds=30)  # the stamp of that run, by that TSA
    assert stamped["message_log"]["unstamped"] == 0 and stamped["timestamping"]["oldest_unstamped_age_seconds"] is None
    assert stamped["message_log"]["archive_backlog"] >= 2 and stamped["message_log"]["last_archive"] is None


def test_an_expired_configuration_is_the_code_traffic_gets(world: World) -> None:
    kept = world.expires["EE"]
    world.expires["EE"] = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    try:
        refused = _tax_calls_vero(world)
        report = _diagnostics(world)
    finally:
        world.expires["EE"] = kept
    assert refused.json()["type"] == "server.clientproxy.global_conf_outdated"
    assert report["health"]["status"] == "failing" and report["health"]["code"] == "global_conf_outdated"
    assert "the configuration of EE expired at " in report["health"]["problems"][0]["message"]
    assert _diagnostics(world)["health"]["code"] == "ok"


def test_maintenance_mode_set_by_the_authority_is_reported_as_peers_meet_it(world: World) -> None:
    fi = world.shared["FI"]
    vero_gateway = world.gateways["FI/GOV/0245437-2/gw1"]
    world.shared["FI"] = dataclasses.replace(fi, security_servers=tuple(
        dataclasses.replace(s, maintenance=MaintenanceMode("upgrade until 14:00"))
        if s.server_id.to_text() == "FI/GOV/0245437-2/gw1" else s for s in fi.security_servers))
    try:
        refused = _tax_calls_vero(world)
        report = vero_gateway.status()  # the report /api/v1/diagnostics serves
        lines = status_lines(report)
    finally:
        world.shared["FI"] = fi
    assert refused.json()["type"] == "server.clientproxy.maintenance_mode"
    assert report["maintenance"] == {"enabled": True, "message": "upgrade until 14:00"}
    assert report["health"]["code"] == "maintenance_mode"
    assert "  maintenance mode: ON: upgrade until 14:00" in lines
    assert "  health: FAILING: traffic gets maintenance_mode" in lines


def test_a_missing_own_ocsp_response_is_cert_validation(world: World) -> None:
    node = world.gateways[GW1]
    path = node.directory / "ocsp" / "sign.ocsp"
    held = path.read_bytes()
    path.unlink()
    try:
        report = _diagnostics(world)
    finally:
        path.write_bytes(held)
    assert report["health"]["code"] == "cert_validation"
    assert "own certificate sign has no good OCSP response (none)" in report["health"]["problems"][0]["message"]
    assert _diagnostics(world)["health"]["code"] == "ok"


def _sild(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from gateway.cli._main import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_the_cli_calls_the_admin_api_trusting_the_nodes_own_certificate(world: World, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    node = world.gateways[GW1]
    _kid, secret = create_api_key(node.serverconf, ["viewer"], "cli client")
    monkeypatch.setenv("SILD_ADMIN_API_KEY", secret)
    code, out, err = _sild(capsys, "gateway", "api", str(node.directory), "/api/v1/diagnostics")
    assert code == 0, err
    assert json.loads(out)["health"]["code"] == "ok"
    code, out, err = _sild(capsys, "gateway", "api", str(node.directory), "/api/v1/ocsp/refresh", "-X", "POST")
    assert code == 1 and err.strip().splitlines() == [
        "sild: error: POST /api/v1/ocsp/refresh: HTTP 403: this API key lacks a role for this call "
        "(needs one of: admin) [gateway.admin.forbidden]"]
    monkeypatch.setenv("SILD_ADMIN_API_KEY", "sild_not-a-key")
    code, _out, err = _sild(capsys, "gateway", "api", str(node.directory), "/api/v1/status")
    assert code == 1 and err.strip().endswith("[gateway.admin.unauthenticated]")


def test_the_nodes_https_admin_api_records_changes_in_the_audit_log(world: World) -> None:
    refreshed = _call(world, "POST", "/api/v1/ocsp/refresh", role="admin")
    assert refreshed.status_code == 200, refreshed.text
    answer = _call(world, "GET", "/api/v1/audit?limit=1", role="auditor")
    assert answer.status_code == 200, answer.text
    (newest,) = answer.json()["entries"]
    assert (newest["operation"], newest["source"], newest["outcome"], newest["status"]) == (
        "POST /api/v1/ocsp/refresh", "127.0.0.1", "ok", 200)
    assert newest["actor"].startswith("node admin test admin (key ")
