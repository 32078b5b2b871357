"""A gateway cluster under load: two nodes of FI vero's gateway behind a real HAProxy on a real PostgreSQL.

One sandbox (``sild sandbox up DIR --cluster 2``: every part its own process). Sixteen
clients call EE population's REST service as FI vero through the balancer's IS port,
each exchange on a new connection (so that a connection is "in flight" exactly while
its exchange is). Then:

* **kill -9** one node mid-load: every exchange a client saw answered is in one of the
  nodes' message logs (request and response; one record of the killed node is exported
  as an ASiC-E container and verified with the ASiC verifier); the exchanges that failed
  had all started before the kill and are at most those in flight at that moment
  (the count is printed); the other node keeps answering; the killed node, started
  again, gets traffic again;
* **drain** a node (``sild gateway drain``, a real process): its health port says 503
  ``draining``, the exchanges in flight on it finish, it stops, and no client sees a
  failure;
* **stop PostgreSQL**: the nodes' health ports say 503 ``database_unreachable``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from gateway.sandbox import _processes as processes

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

CLIENTS = 16
PERSON = "/r1/EE/GOV/70000002/population/persons/39001011237"
VERO = "FI/GOV/0245437-2/vero"


def _sild(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(processes.sild_command(*args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SILD_TOKEN_PIN": "sandbox-pin"})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    result = _sild("sandbox", "up", str(root), "--cluster", "2", "--timeout", "240", "--owner-pid", str(os.getpid()))
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        state = json.loads((root / "sandbox.json").read_text())
        yield root, state
    finally:
        down = _sild("sandbox", "down", str(root))
        assert down.returncode == 0, down.stderr
    assert not (root / "postgres").exists()  # down removed the cluster's temporary PostgreSQL data


@dataclass
class Exchange:
    started: float
    ended: float
    query_id: str | None
    error: str | None


class Load:
    """``clients`` threads calling through the balancer, one new connection per exchange, until stopped."""

    def __init__(self, url: str, clients: int = CLIENTS) -> None:
        self.url = url
        self.done: list[Exchange] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            query_id, error = None, None
            try:
                resp = httpx.get(self.url + PERSON, headers={"X-Road-Client": VERO, "Connection": "close"},
                                 timeout=60, trust_env=False)
                if resp.status_code == 200:
                    query_id = resp.headers.get("X-Road-Id")
                    error = None if query_id else "no X-Road-Id"
                else:
                    error = f"HTTP {resp.status_code} {resp.headers.get('X-Road-Error')}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.done.append(Exchange(started, time.monotonic(), query_id, error))

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def answered_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for e in self.done if e.error is None and e.started > moment)


def _logged(url: str) -> dict[str, set[str]]:
    """Query id -> directions logged (client side) in the message log at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT query_id, direction FROM ml_record WHERE side = 'client'")).all()
    finally:
        engine.dispose()
    out: dict[str, set[str]] = {}
    for query_id, direction in rows:
        out.setdefault(query_id, set()).add(direction)
    return out


def _health(node: dict[str, Any]) -> tuple[int, str]:
    try:
        resp = httpx.get(node["health_url"], timeout=5, trust_env=False)
    except httpx.HTTPError as exc:
        return 0, str(exc)
    return resp.status_code, resp.text


def _until(seconds: float, check: Any, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def _verify_one(node: dict[str, Any], query_id: str) -> None:
    """Export the node's record of ``query_id`` as an ASiC-E container and verify it as `sild asic verify` does."""
    from federation.conftree import load_tree
    from gateway.db import open_engine
    from gateway.messagelog import MessageLog, export_exchange
    from trust.evidence import verify_container

    engine = open_engine(node["messagelog_url"])
    try:
        container = export_exchange(MessageLog(engine), query_id, direction="response")
    finally:
        engine.dispose()
    policies = load_tree(Path(node["directory"]) / "conf").to_trust_policies()
    verified = verify_container(container, policies)
    assert any("FI" in line or "EE" in line for line in verified.describe())


def _ended(pid: int) -> bool:
    """The process has exited (it may wait, a zombie, for this test run to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith(("Z", "X"))
    except OSError:
        return True


def _restart(root: Path, node: dict[str, Any]) -> None:
    """As an operator restarts a sandbox's node: ``sild sandbox restart DIR NODE`` (waits until it is healthy)."""
    restarted = _sild("sandbox", "restart", str(root), node["process"], "--timeout", "240")
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert _health(node)[0] == 200


def test_a_node_killed_under_load_loses_only_its_exchanges_in_flight(cluster):
    root, state = cluster
    nodes = state["cluster"]["nodes"]
    victim, survivor = nodes[1], nodes[0]
    assert all(_health(n)[0] == 200 for n in nodes)
    with Load(state["cluster"]["balancer"]["is_url"]) as load:
        _until(120, lambda: load.answered_since(0) >= 64, "no traffic through the balancer")
        before = len(_logged(victim["messagelog_url"]))
        _until(120, lambda: len(_logged(victim["messagelog_url"])) > before + 8, "the victim got no traffic")
        killed_at = time.monotonic()
        os.kill(victim["pid"], signal.SIGKILL)
        _until(120, lambda: load.answered_since(killed_at + 6) >= 32, "the surviving node stopped answering")
    failed = [e for e in load.done if e.error is not None]
    in_flight = [e for e in load.done if e.started <= killed_at < e.ended]
    answered = [e for e in load.done if e.error is None]
    print(f"\nfailover: {len(answered)} exchanges answered, {len(failed)} failed, "
          f"{len(in_flight)} in flight at the kill (on both nodes)")
    assert len(failed) <= len(in_flight) <= CLIENTS
    assert all(e.started <= killed_at for e in failed), [e.error for e in failed if e.started > killed_at]
    logs = [_logged(n["messagelog_url"]) for n in nodes]
    missing = [e.query_id for e in answered
               if not any(log.get(str(e.query_id)) == {"request", "response"} for log in logs)]
    assert not missing, f"{len(missing)} answered exchanges are in no node's log, e.g. {missing[:3]}"
    on_victim = next(e.query_id for e in answered if str(e.query_id) in logs[1])
    _verify_one(victim, str(on_victim))  # evidence the killed node logged survives it
    # started again, the killed node rejoins: the balancer sends it traffic
    _restart(root, victim)
    before = len(_logged(victim["messagelog_url"]))
    with Load(state["cluster"]["balancer"]["is_url"], clients=4):
        _until(120, lambda: len(_logged(victim["messagelog_url"])) > before, "the restarted node got no traffic")
    assert _health(survivor)[0] == 200


def test_a_drained_node_finishes_its_exchanges_and_stops_without_a_failed_exchange(cluster):
    root, state = cluster
    victim = state["cluster"]["nodes"][1]
    if _health(victim)[0] != 200:  # the test before restarts it; alone, this test drains a fresh node
        _restart(root, victim)
    pid = processes.recorded_pid(root, victim["process"])
    seen: list[tuple[int, str]] = []
    with Load(state["cluster"]["balancer"]["is_url"], clients=8) as load:
        _until(120, lambda: load.answered_since(0) >= 32, "no traffic through the balancer")
        drain = subprocess.Popen(processes.sild_command("gateway", "drain", victim["directory"], "--grace", "8",
                                                        "--timeout", "30"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "SILD_TOKEN_PIN": "sandbox-pin"})
        _until(30, lambda: seen.append(_health(victim)) or seen[-1][0] == 503, "the health port never said 503")
        out, err = drain.communicate(timeout=180)
        stopped_at = time.monotonic()
        _until(120, lambda: load.answered_since(stopped_at) >= 16, "the other node stopped answering")
    assert drain.returncode == 0, err
    assert "drained" in out and "health port answers 503" in err
    assert seen[-1][1].startswith("draining: draining since ")
    assert pid is not None and _ended(pid)
    assert not (Path(victim["directory"]) / "drain.json").exists()
    failed = [e.error for e in load.done if e.error is not None]
    print(f"\ndrain: {len(load.done) - len(failed)} exchanges answered, {len(failed)} failed")
    assert not failed, failed[:5]


def test_nodes_whose_database_is_gone_tell_the_balancer(cluster):
    """Last (it stops the cluster's PostgreSQL): every node's health port says 503 ``database_unreachable``."""
    root, state = cluster
    pid = processes.recorded_pid(root, "postgres")
    assert pid is not None
    os.killpg(pid, signal.SIGINT)  # PostgreSQL's fast shutdown: its clients are cut off
    running = [node for node in state["cluster"]["nodes"] if _health(node)[0] != 0]  # not the drained one
    assert running
    for node in running:
        _until(60, lambda node=node: _health(node)[0] == 503, f"{node['name']} still says it is healthy")
        status, reason = _health(node)
        assert reason.startswith("database_unreachable: the "), reason
        assert reason.count("\n") == 1
