"""A cluster whose nodes run worker processes: live shared changes between real nodes, a drain through the admin API.

One sandbox (``sild sandbox up DIR --cluster 2 --workers 2``): FI vero's gateway as two
nodes behind a real HAProxy on a real PostgreSQL, each node a main process and two
``sild gateway worker`` processes. Then:

* a setting changed with ``sild gateway set`` on node 2's directory reaches node 1's
  directory (and its running processes) without a restart, while node 1 keeps its
  own ports (``gateway.node._shared``);
* node 1 is drained through its admin API (``POST /api/v1/drain``) under 8 clients
  calling through the balancer: the health port says 503, every process of the node
  (the main process and both workers) ends, no client sees a failure, and the call is
  in the cluster's audit log.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from gateway.sandbox import _processes as processes
from gateway.settings import NodeSettings
from trust.infra import servers_inside

from tests.gateway.sandbox.test_cluster import Load, _health, _until

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]


def _sild(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SILD_TOKEN_PIN": "sandbox-pin"})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster-workers")
    result = _sild("sandbox", "up", str(root), "--cluster", "2", "--workers", "2", "--timeout", "300",
                   "--owner-pid", str(os.getpid()))
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        yield root, json.loads((root / "sandbox.json").read_text())
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) has ended too
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_setting_changed_on_one_node_reaches_the_other_running_node(cluster):
    root, state = cluster
    one, two = (Path(n["directory"]) for n in state["cluster"]["nodes"])
    ports = NodeSettings.load(one).is_port, NodeSettings.load(one).peer_port
    before = NodeSettings.load(one).conf_interval_seconds
    wanted = 45 if before != 45 else 50
    changed = _sild("gateway", "set", str(two), f"conf_interval_seconds={wanted}")
    assert changed.returncode == 0, changed.stderr
    _until(90, lambda: NodeSettings.load(one).conf_interval_seconds == wanted,
           "node 1's directory never got the setting changed on node 2")
    log = root / "logs" / f"{state['cluster']['nodes'][0]['process']}.log"  # node 1's main process, not restarted
    _until(60, lambda: f"conf-download now every {wanted} s" in log.read_text(errors="replace"),
           "node 1's running process did not take the setting into use")
    assert (NodeSettings.load(one).is_port, NodeSettings.load(one).peer_port) == ports  # its own ports stay
    assert NodeSettings.load(two).is_port != ports[0]


def test_a_node_with_workers_drained_through_the_admin_api_stops_every_process_and_loses_nothing(cluster):
    _root, state = cluster
    node = state["cluster"]["nodes"][0]
    directory = Path(node["directory"])
    gateway = next(g for g in state["gateways"] if Path(g["directory"]) == directory)
    pids = servers_inside(directory)
    assert len(pids) >= 3, pids  # the main process and its two workers
    key = Path(gateway["admin_key_file"]).read_text().strip()
    seen: list[tuple[int, str]] = []
    with Load(state["cluster"]["balancer"]["is_url"], clients=8) as load:
        _until(180, lambda: load.answered_since(0) >= 32, "no traffic through the balancer")
        answer = httpx.post(gateway["admin_url"] + "/api/v1/drain", json={"grace_seconds": 8, "timeout_seconds": 30},
                            headers={"Authorization": f"Bearer {key}"}, verify=ssl.create_default_context(cafile=gateway["admin_cert_file"]),
                            timeout=60, trust_env=False)
        assert answer.status_code == 202, answer.text
        assert answer.json()["draining"] is True and set(pids) <= set(answer.json()["pids"])
        _until(30, lambda: seen.append(_health(node)) or seen[-1][0] == 503, "the health port never said 503")
        _until(180, lambda: not any(_alive(pid) for pid in pids), "a process of the drained node still runs")
        stopped_at = time.monotonic()
        _until(120, lambda: load.answered_since(stopped_at) >= 16, "the other node stopped answering")
    assert seen[-1][1].startswith("draining: draining since ")
    failed = [e.error for e in load.done if e.error is not None]
    print(f"\ndrain through the API, 2 workers: {len(load.done) - len(failed)} exchanges answered, {len(failed)} failed")
    assert not failed, failed[:5]
    other = state["cluster"]["nodes"][1]["directory"]
    audit = _sild("gateway", "audit", other, "--json")
    assert audit.returncode == 0, audit.stderr
    operations = [e["operation"] for e in json.loads(audit.stdout)]
    assert any("/api/v1/drain" in op for op in operations), operations[-10:]
