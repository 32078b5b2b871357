"""The timestamping services over a running node's admin API and the CLI (issue 17).

The in-process world's gateway gw1 runs its jobs (timestamping, following changes)
like a served node; its instance's configuration approves its real TSA and a second
one whose port nobody listens on. Choosing the unreachable one first must leave
records stamped by the next, by the running job, without a restart.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from click.testing import CliRunner

from federation.model import ApprovedTsaInfo
from gateway.admin import admin_client_context, admin_url
from gateway.cli import cli
from gateway.serverconf import create_api_key
from gateway.settings import NodeSettings

from tests.gateway._world import TAX, World, free_port

GW1 = "EE/GOV/70000001/gw1"


@pytest.fixture(scope="module")
def running(world: World) -> Iterator[World]:
    """gw1 with its jobs, and EE's configuration approving a second, unreachable TSA."""
    shared = world.shared["EE"]
    real = shared.approved_tsas[0]
    down = ApprovedTsaInfo("EE DOWN", f"http://127.0.0.1:{free_port()}/tsa", real.cert)
    world.shared["EE"] = dataclasses.replace(shared, approved_tsas=(real, down))
    world.gateways[GW1]._start_jobs()  # stopped with the world (GatewayNode.close)
    yield world


def _urls(world: World) -> tuple[str, str]:
    tsas = world.shared["EE"].approved_tsas
    return tsas[0].url, tsas[1].url


def _call(world: World, method: str, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
    node = world.gateways[GW1]
    _kid, secret = create_api_key(node.serverconf, [role], f"tsa test {role}")
    return httpx.request(method, admin_url(node.directory) + path, headers={"Authorization": f"Bearer {secret}"},
                         verify=admin_client_context(node.directory), trust_env=False, timeout=60, **kw)


def _traffic(world: World) -> None:
    node = world.gateways[GW1]
    answer = httpx.get(node.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                       headers={"X-Road-Client": TAX.to_text()}, timeout=30, trust_env=False)
    assert answer.status_code == 200, answer.text


def _within(seconds: float, check: Callable[[], Any], what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_the_approved_tsas_are_listed_with_their_certificate_and_use(running: World) -> None:
    real, down = _urls(running)
    answer = _call(running, "GET", "/api/v1/timestamping-services", role="viewer")
    assert answer.status_code == 200, answer.text
    info = answer.json()
    assert info["chosen"] == [] and info["all_approved"] is True
    services = info["services"]
    assert [(s["name"], s["url"], s["order"], s["in_use"]) for s in services] == \
        [("EE TSA", real, 1, True), ("EE DOWN", down, 2, True)]
    assert "CN=" in services[0]["certificate"]["subject"] and services[0]["certificate"]["not_after"].endswith("Z")


def test_a_tsa_not_approved_is_refused_and_the_choice_stays(running: World) -> None:
    gdir = running.gateways[GW1].directory
    before = NodeSettings.load(gdir).timestamping_services
    refused = _call(running, "PUT", "/api/v1/timestamping-services", json=["http://127.0.0.1:1/evil"])
    assert refused.status_code == 422 and refused.json()["code"] == "gateway.messagelog.tsa_not_approved", refused.text
    patched = _call(running, "PATCH", "/api/v1/settings", json={"timestamping_services": "http://127.0.0.1:1/evil"})
    assert patched.status_code == 422 and patched.json()["code"] == "gateway.messagelog.tsa_not_approved"
    assert _call(running, "PUT", "/api/v1/timestamping-services", json={"x": 1}).status_code == 400
    assert _call(running, "PUT", "/api/v1/timestamping-services", role="viewer", json=[]).status_code == 403
    assert _call(running, "POST", "/api/v1/timestamping/run", role="viewer").status_code == 403
    assert NodeSettings.load(gdir).timestamping_services == before


def test_the_running_timestamper_follows_a_new_choice_and_falls_over(running: World) -> None:
    """An unreachable TSA chosen first: the node's own job (no restart) still stamps, with the next one."""
    real, down = _urls(running)
    node = running.gateways[GW1]
    _traffic(running)  # records waiting for the job
    chosen = _call(running, "PUT", "/api/v1/timestamping-services", json=["EE DOWN", real])
    assert chosen.status_code == 200, chosen.text
    assert NodeSettings.load(node.directory).timestamping_services == (down, real)  # kept as URLs
    assert [(s["url"], s["order"]) for s in chosen.json()["services"]] == [(real, 2), (down, 1)]

    def stamped_by_the_job() -> Any:
        services = {s["url"]: s for s in _call(running, "GET", "/api/v1/timestamping-services").json()["services"]}
        return services if services[down]["last_failure"] and services[real]["last_success"] else None

    services = _within(60, stamped_by_the_job, "the job asking the unreachable TSA first, then the next")
    from gateway.node import status_lines

    lines = "\n".join(status_lines(node.status()))  # `sild gateway status` of the running node
    assert f"TSA EE DOWN ({down}, in use)" in lines and f"TSA EE TSA ({real}, fallover #1)" in lines, lines
    assert "ConnectError" in services[down]["last_error"] or "Unavailable" in services[down]["last_error"]
    assert node.messagelog.status(node.clock())["oldest_unstamped_record"] is None
    _traffic(running)
    run = _call(running, "POST", "/api/v1/timestamping/run")
    assert run.status_code == 200, run.text
    assert run.json()["stamped"] >= 2 and run.json()["tsa"] == real
    assert run.json()["attempts"][down] != "ok" and run.json()["attempts"][real] == "ok"
    back = _call(running, "PUT", "/api/v1/timestamping-services", json=[])
    assert back.status_code == 200 and back.json()["all_approved"] is True
    audit = _call(running, "GET", "/api/v1/audit", role="auditor").json()["entries"]
    operations = [(e["operation"], e["outcome"]) for e in audit]
    assert ("PUT /api/v1/timestamping-services", "ok") in operations
    assert ("POST /api/v1/timestamping/run", "ok") in operations


def test_the_cli_refuses_an_unapproved_tsa_and_runs_through_the_api(running: World, tmp_path: Path) -> None:
    node = running.gateways[GW1]
    gdir = node.directory
    refused = CliRunner().invoke(cli, ["gateway", "tsa", "use", str(gdir), "http://127.0.0.1:1/evil"])
    assert refused.exit_code != 0 and "is not a TSA approved in the global configuration" in refused.output
    set_refused = CliRunner().invoke(cli, ["gateway", "set", str(gdir), "timestamping_services=http://127.0.0.1:1/x"])
    assert set_refused.exit_code != 0 and "is not a TSA approved" in set_refused.output, set_refused.output
    assert NodeSettings.load(gdir).timestamping_services == ()  # nothing written
    _traffic(running)
    _kid, secret = create_api_key(node.serverconf, ["admin"], "tsa cli test")
    key = tmp_path / "key"
    key.write_text(secret)
    ran = CliRunner().invoke(cli, ["gateway", "tsa", "run", str(gdir), "--key-file", str(key)])
    assert ran.exit_code == 0, ran.output
    assert "record(s) timestamped by " + _urls(running)[0] in ran.output
    # this node's configuration is given in memory, none is held in its directory: the CLI sees none approved
    assert "approved: none" in refused.output
    from gateway.cli._directory import open_audit

    log = open_audit(gdir)
    assert log is not None
    entries = [(e.channel, e.operation, e.outcome) for e in log.entries()]
    assert ("cli", "gateway tsa use", "gateway.messagelog.tsa_not_approved") in entries, entries
    assert sum(1 for e in entries if e[1] in ("gateway tsa run", "POST /api/v1/timestamping/run")) == \
        sum(1 for e in entries if e[1] == "POST /api/v1/timestamping/run")  # the run recorded once, by the API
