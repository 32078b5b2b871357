"""``sild sandbox up DIR --cluster N``: FI vero's gateway as N nodes behind HAProxy on PostgreSQL.

The sandbox builds a cluster the way an operator would (docs/scaling.md), with the
same commands' code: the first node is FI vero's gateway as ``up`` makes it, with its
server configuration on a PostgreSQL server and its message log in a database of its
own there; every further node joins from the first node's encrypted bundle
(:func:`gateway.provision.join_cluster`) with its own ports and message log; the
authority registers the balancer's address, so peers reach the nodes only through it;
HAProxy runs with the configuration :func:`gateway.node.cluster_config` writes.

PostgreSQL and HAProxy are processes of the sandbox like the others (``DIR/pids``,
``DIR/logs``): ``down``, and the watchdog of a test run, stop them with the rest.
PostgreSQL runs in the foreground (``postgres -D``, not ``pg_ctl``, which would leave it
outside the sandbox's process group), as the ``postgres`` user when the sandbox runs as
root (PostgreSQL refuses root); its data directory is then a temporary directory that
user can reach, linked as ``DIR/postgres`` and removed by ``down``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from gateway.settings import NodeSettings, with_changes
from trust.infra import write_atomic

from . import _processes as processes
from ._record import SandboxError

CLUSTER_GATEWAY = "FI/GOV/0245437-2/gw1"  # FI vero's: the provider of the sandbox's cross-border calls
POSTGRES, HAPROXY = "postgres", "haproxy"  # their process names in DIR/pids
HAPROXY_PATHS = ("haproxy", "/usr/sbin/haproxy")


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise SandboxError("a cluster sandbox needs PostgreSQL's server (Debian package postgresql; make test installs it)")
    return Path(found[-1]).parent


def _haproxy() -> str:
    for name in HAPROXY_PATHS:
        path = shutil.which(name) or (name if Path(name).is_file() else None)
        if path:
            return path
    raise SandboxError("a cluster sandbox needs HAProxy (Debian package haproxy; make test installs it)")


def _data_directory(root: Path) -> tuple[Path, list[str]]:
    """Where the cluster's data lives, and the command prefix that runs PostgreSQL (as ``postgres`` under root)."""
    if os.geteuid() != 0:
        (root / POSTGRES).mkdir(mode=0o700)
        return root / POSTGRES, []
    user = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(prefix="sild-sandbox-pg-"))
    os.chown(base, user.pw_uid, user.pw_gid)
    (root / POSTGRES).symlink_to(base)
    return base, ["runuser", "-u", "postgres", "--"]


def start_database(root: Path, free_port: Callable[[], int], wait: Callable[..., None], timeout: float,
                   names: list[str]) -> dict[str, Any]:
    """A PostgreSQL server for the cluster, with the databases ``names``; their URLs and the server's port."""
    from sqlalchemy import create_engine, text

    bindir, port = _postgres_bindir(), free_port()
    base, run_as = _data_directory(root)
    data = base / "data"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "sild", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    processes.spawn(root, POSTGRES, [*run_as, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k",
                                     str(base), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"])
    server = f"postgresql+psycopg://sild@127.0.0.1:{port}"
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")

    def ready() -> bool:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    try:
        wait("PostgreSQL of the cluster", ready, timeout, root)
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return {"port": port, "data": str(data), "urls": {name: f"{server}/{name}" for name in names}}


def make_nodes(root: Path, info: dict[str, Any], nodes: int, db: dict[str, Any], free_port: Callable[[], int],
               pin: str) -> dict[str, Any]:
    """The first node's settings for the cluster, the other nodes joined from its bundle; the balancer's ports.

    ``info`` is the gateway's entry of the sandbox's build: its ``is_port`` and
    ``peer_port`` become the balancer's (what the authority registers and ``sandbox.json``
    names), the nodes' own are in the returned description.
    """
    from gateway.provision import export_cluster_bundle, join_cluster

    first = Path(info["dir"])
    urls = db["urls"]
    settings = with_changes(NodeSettings.load(first), {
        "serverconf_url": urls["serverconf"], "messagelog_url": urls["messagelog_node1"],
        "health_port": free_port()})
    balancer = {"is_port": free_port(), "peer_port": free_port()}
    settings = with_changes(settings, {"public_address": f"127.0.0.1:{balancer['peer_port']}"})
    settings.save(first)
    described = [{"name": "node1", "directory": str(first), "is_port": settings.is_port,
                  "peer_port": settings.peer_port, "health_port": settings.health_port,
                  "messagelog_url": urls["messagelog_node1"], "process": "gw-" + CLUSTER_GATEWAY.replace("/", "_")}]
    bundle = export_cluster_bundle(first, pin)
    for index in range(2, nodes + 1):
        directory = first.parent / f"{first.name}-node{index}"
        joined = join_cluster(directory, bundle, pin, is_port=free_port(), peer_port=free_port(),
                              health_port=free_port(), messagelog_url=urls[f"messagelog_node{index}"])
        (directory / "token.pin").write_text(pin)
        described.append({"name": f"node{index}", "directory": str(directory), "is_port": joined.is_port,
                          "peer_port": joined.peer_port, "health_port": joined.health_port,
                          "messagelog_url": joined.messagelog_url,
                          "process": "gw-" + CLUSTER_GATEWAY.replace("/", "_") + f"-node{index}"})
    info["is_port"], info["peer_port"] = balancer["is_port"], balancer["peer_port"]
    return {"gateway": CLUSTER_GATEWAY, "balancer": balancer, "nodes": described, "postgres": db}


def start_others(root: Path, cluster: dict[str, Any], env: dict[str, str]) -> None:
    """The nodes after the first (``up`` starts the first with the other gateways) and HAProxy in front of all."""
    from gateway.node import cluster_config

    anchor = (root / CLUSTER_GATEWAY.split("/")[0] / "anchor-internal.xml").read_bytes()  # as `up` gives the first
    for node in cluster["nodes"][1:]:
        write_atomic(Path(node["directory"]) / "anchor.xml", anchor)
        processes.spawn(root, node["process"], processes.sild_command("gateway", "serve", node["directory"]), env=env)
    balancer = cluster["balancer"]
    config = root / "haproxy.cfg"
    config.write_text(cluster_config([(Path(n["directory"]), "127.0.0.1") for n in cluster["nodes"]],
                                     is_listen=("127.0.0.1", balancer["is_port"]),
                                     peer_listen=("127.0.0.1", balancer["peer_port"])))
    processes.spawn(root, HAPROXY, [_haproxy(), "-f", str(config), "-db"])


def wait_nodes(root: Path, cluster: dict[str, Any], wait: Callable[..., None], http_ok: Callable[[str], bool],
               timeout: float) -> None:
    """Every node's health port says ok (so the balancer sends it traffic)."""
    for node in cluster["nodes"]:
        url = f"http://127.0.0.1:{node['health_port']}/health"
        wait(f"cluster node {node['name']} ({url})", lambda url=url: http_ok(url), timeout, root)


def describe(root: Path, cluster: dict[str, Any]) -> dict[str, Any]:
    """What ``sandbox.json`` says of the cluster: the balancer's addresses, each node's, pids, log databases."""
    def pid(name: str) -> int | None:
        return processes.recorded_pid(root, name)

    balancer = cluster["balancer"]
    return {
        "gateway": cluster["gateway"],
        "balancer": {"is_url": f"http://127.0.0.1:{balancer['is_port']}",
                     "peer_address": f"127.0.0.1:{balancer['peer_port']}", "config": str(root / "haproxy.cfg"),
                     "process": HAPROXY, "pid": pid(HAPROXY)},
        "nodes": [{"name": n["name"], "directory": n["directory"], "is_url": f"http://127.0.0.1:{n['is_port']}",
                   "peer_address": f"127.0.0.1:{n['peer_port']}",
                   "health_url": f"http://127.0.0.1:{n['health_port']}/health",
                   "messagelog_url": n["messagelog_url"], "process": n["process"], "pid": pid(n["process"])}
                  for n in cluster["nodes"]],
        "postgres": {"url": f"postgresql+psycopg://sild@127.0.0.1:{cluster['postgres']['port']}/postgres",
                     "serverconf_url": cluster["postgres"]["urls"]["serverconf"], "data": cluster["postgres"]["data"],
                     "process": POSTGRES, "pid": pid(POSTGRES)},
    }


def remove_data(root: Path) -> None:
    """After ``down``: the temporary data directory a root-run sandbox's PostgreSQL had (its link in DIR goes too)."""
    link = root / POSTGRES
    if link.is_symlink():
        target = Path(os.readlink(link))
        link.unlink()
        if target.name.startswith("sild-sandbox-pg-"):
            for _ in range(50):  # the server may still be writing its last files
                shutil.rmtree(target, ignore_errors=True)
                if not target.exists():
                    break
                time.sleep(0.1)
