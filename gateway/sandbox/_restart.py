"""Starting a built sandbox again, whole or one node, and waiting until it is healthy.

A sandbox is a place to work in: an operator stops it and starts it another day
(``sild sandbox up DIR`` again), or edits one node's settings (``gateway.json``, the
authority's registry) and restarts that node alone (``sild sandbox restart DIR
NODE``). Both start the ``sild`` commands recorded in ``sandbox-setup.json``
(:mod:`._record`) over the data the sandbox already has, and wait for the same
signs of health as the first start (:mod:`._orchestrate`): trust services answer,
authorities publish configuration, backends answer, every gateway has its OCSP
responses and the configuration of every instance.
"""

from __future__ import annotations

import functools
import json
import socket
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from trust.infra import utc_now
from trust.keys import write_atomic

from gateway.node import sild_command

from . import _processes as processes
from ._hints import sild_hint
from ._listeners import sandbox_servers
from ._record import STATE_FILE, SandboxError, find_process, load_setup


def wait(what: str, check: Callable[[], bool], timeout: float, root: Path) -> None:
    """Poll ``check`` until it holds; a clear error naming the part and the logs otherwise."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last reason
            last = exc
        time.sleep(0.2)
    raise SandboxError(f"sandbox: {what} did not become healthy in {timeout:.0f} s"
                       f"{f' ({last})' if last else ''}; see {root / 'logs'}")


def http_ok(url: str, **kw: Any) -> bool:
    return httpx.get(url, timeout=2, trust_env=False, **kw).status_code == 200


def reachable(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def ocsp_ready(gdir: Path) -> bool:
    """The node fetched fresh OCSP responses for its auth and sign certificates."""
    status_file = gdir / "ocsp" / "status.json"
    if not status_file.is_file():
        return False
    status = json.loads(status_file.read_text())
    return status.get("last_refresh") is not None and not status.get("last_error")


def wait_gateway(root: Path, text: str, gdir: Path, instances: tuple[str, ...], timeout: float) -> str:
    """Wait until the gateway in ``gdir`` serves; returns its IS URL (read from its
    settings now: an operator may have changed the port)."""
    from gateway.settings import NodeSettings

    base = f"http://127.0.0.1:{NodeSettings.load(gdir).is_port}"
    wait(f"gateway {text} (OCSP responses of its certificates)", functools.partial(ocsp_ready, gdir), timeout, root)
    for instance in instances:
        wait(f"gateway {text} (configuration of {instance})",
             functools.partial(http_ok, f"{base}/listClients?xRoadInstance={instance}"), timeout, root)
    return base


def start_again(root: Path, timeout: float) -> dict[str, Any]:
    """Start every recorded server of the sandbox in ``root``; returns the new ``sandbox.json``."""
    setup = load_setup(root)
    for proc in setup["processes"]:
        processes.spawn(root, proc["name"], sild_command(*proc["args"]), env=proc["env"])
    state: dict[str, Any] = setup["state"]
    for proc in setup["processes"]:
        _wait_healthy(root, proc, state, timeout)
    return _write_state(root, state)


def restart_node(root: Path, node: str, timeout: float) -> dict[str, Any]:
    """Stop one node of the running sandbox (recorded, or started by hand) and start it
    again with its recorded command; returns the updated ``sandbox.json``."""
    setup = load_setup(root)
    if not (root / STATE_FILE).is_file():
        raise SandboxError(f"the sandbox in {root} is not running; start it with "
                           f"`{sild_hint('sandbox', 'up', root)}`")
    proc = find_process(setup, node)
    if (root / "pids" / f"{proc['name']}.pid").is_file():
        processes.stop(root, proc["name"])
        (root / "pids" / f"{proc['name']}.stopped").unlink(missing_ok=True)
    processes.stop_pids(sandbox_servers(root, inside=Path(proc["directory"])))
    processes.spawn(root, proc["name"], sild_command(*proc["args"]), env=proc["env"])
    state: dict[str, Any] = json.loads((root / STATE_FILE).read_text())
    _wait_healthy(root, proc, state, timeout)
    return _write_state(root, state)


def _wait_healthy(root: Path, proc: dict[str, Any], state: dict[str, Any], timeout: float) -> None:
    name = proc["name"]
    instances = tuple(state["instances"])
    if name.startswith("trust-"):
        port = urlsplit(state["instances"][name[6:]]["trust_url"]).port
        wait(f"trust services of {name[6:]}", functools.partial(reachable, int(port or 0)), timeout, root)
    elif name.startswith("central-"):
        url = state["instances"][name[8:]]["central_url"] + "/externalconf?version=6"
        wait(f"authority of {name[8:]}", functools.partial(http_ok, url), timeout, root)
    elif name == "backends":
        for url in state["backends"].values():
            wait(f"sample backend {url}", functools.partial(reachable, int(urlsplit(url).port or 0)), timeout, root)
    elif any(n["process"] == name for n in state.get("cluster", {}).get("nodes", ())):  # its health says it all
        node = next(n for n in state["cluster"]["nodes"] if n["process"] == name)
        wait(f"cluster node {node['name']}", functools.partial(http_ok, node["health_url"]), timeout, root)
        node["pid"] = processes.recorded_pid(root, name)
    else:
        gateway = next(g for g in state["gateways"] if g["process"] == name)
        old = gateway["is_url"]
        gateway["is_url"] = new = wait_gateway(root, gateway["id"], Path(gateway["directory"]), instances, timeout)
        for service in state["services"]:  # the descriptions follow a changed IS port
            for key in ("provider_gateway", "wsdl_url"):
                if str(service.get(key, "")).startswith(old):
                    service[key] = new + service[key][len(old):]


def _write_state(root: Path, state: dict[str, Any]) -> dict[str, Any]:
    state = dict(state, started_at=utc_now().isoformat())
    write_atomic(root / STATE_FILE, json.dumps(state, indent=2).encode() + b"\n")
    return state
