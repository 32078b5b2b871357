"""``sild sandbox up|down|restart|federate DIR``: two federated instances on 127.0.0.1, to work in.

``up`` builds a sandbox in a new or empty DIR, or starts a sandbox built there earlier
again over its data; ``restart DIR NODE`` restarts one node after its settings were
edited; ``federate DIR ANCHOR`` makes a third instance a partner; ``down`` stops
every server of it, also those an operator started by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gateway.settings import MAX_WORKERS

from ._signals import stop_on_signal

DIR_ARG = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.group("sandbox")
def sandbox_group() -> None:
    """A local federation (EE and FI) for trying sild, tests and benchmarks."""


@sandbox_group.command("up")
@DIR_ARG
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for health.")
@click.option("--owner-pid", type=int, default=None,
              help="Take the sandbox down when this process ends (for test runs).")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=1, show_default=True,
              help="Worker processes serving each gateway's ports (`workers` of gateway.json; benchmarks: 2 on 2 cores).")
@click.option("--cluster", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Nodes of FI vero's gateway, behind HAProxy on a PostgreSQL server the sandbox starts "
                   "(docs/scaling.md); 1: one node, SQLite.")
def up_command(directory: Path, timeout: float, owner_pid: int | None, workers: int, cluster: int) -> None:
    """Start trust services, authorities, gateways and sample backends; write DIR/sandbox.json."""
    from gateway.sandbox import up

    state = up(directory, timeout=timeout, owner_pid=owner_pid, workers=workers, cluster=cluster)
    click.echo(f"sandbox up in {state['directory']} ({len(state['gateways'])} gateways)")
    _describe(state)
    if "cluster" in state:
        balancer = state["cluster"]["balancer"]
        click.echo(f"  {state['cluster']['gateway']}: HAProxy IS {balancer['is_url']}, peers "
                   f"{balancer['peer_address']} ({balancer['config']}); nodes "
                   + ", ".join(f"{n['name']} {n['is_url']} (health {n['health_url']})" for n in state["cluster"]["nodes"]))


def _describe(state: dict[str, Any]) -> None:
    """What runs where, the admin API keys, and the commands to go on with."""
    from gateway.sandbox import sild_hint

    root = Path(state["directory"])
    for gw in state["gateways"]:
        click.echo(f"  {gw['id']:<24} IS {gw['is_url']}  clients {', '.join(gw['clients'])}")
        if gw.get("admin_url"):
            key = Path(gw["admin_key_file"])
            secret = key.read_text().strip() if key.is_file() else "(missing)"
            click.echo(f"  {'':<24} admin API {gw['admin_url']}  key {secret}  (in {key})")
            if gw.get("admin_cert_file"):
                click.echo(f"  {'':<24} admin API certificate (curl --cacert) {gw['admin_cert_file']}")
        if gw.get("ui_url"):
            click.echo(f"  {'':<24} admin UI {gw['ui_url']}")
    for inst, info in state["instances"].items():
        click.echo(f"  {inst}: authority {info['central_url']}, anchor SHA-224 {info['anchors']['internal_sha224']}")
        if info.get("ui_url"):
            click.echo(f"  {inst}: authority UI {info['ui_url']}  (management API {info['api_url']})")
    if state.get("ui"):  # a sandbox built by an older sild has none
        click.echo(f"UI login (every UI above; self-signed certificates): user {state['ui']['user']}  "
                   f"password {state['ui']['password']}")
    click.echo(f"details: {root / 'sandbox.json'}")
    click.echo(f"restart a node after editing it: {sild_hint('sandbox', 'restart', root, 'NODE')}")
    click.echo(f"stop it: {sild_hint('sandbox', 'down', root)}")


@sandbox_group.command("restart")
@DIR_ARG
@click.argument("node")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for health.")
def restart_command(directory: Path, node: str, timeout: float) -> None:
    """Restart one node of a running sandbox (after editing its settings).

    NODE is a gateway id (EE/GOV/70000001/gw1), a node's directory in DIR
    (EE/gw-70000001-gw1), or a process name (trust-EE, central-EE, backends).
    """
    from gateway.sandbox import restart_node

    state = restart_node(directory.resolve(), node, timeout)
    click.echo(f"restarted {node}")
    _describe(state)


@sandbox_group.command("down")
@DIR_ARG
def down_command(directory: Path) -> None:
    """Stop every process of the sandbox in DIR."""
    from gateway.sandbox import down

    stopped = down(directory)
    click.echo(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))


@sandbox_group.command("federate")
@DIR_ARG
@click.argument("anchor", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for health.")
def federate_command(directory: Path, anchor: Path, timeout: float) -> None:
    """Federate another instance with the sandbox, given its external ANCHOR.

    Every authority of the sandbox trusts the anchor, every gateway is allowed the
    instance's configuration and restarts; returns when all of them have it. The
    instance's authority must be serving.
    """
    from gateway.sandbox import federate

    state = federate(directory.resolve(), anchor, timeout=timeout)
    click.echo(f"federated {', '.join(state['partners'])} with {', '.join(state['instances'])}: "
               f"{len(state['gateways'])} gateways have its configuration")


@sandbox_group.command("backends", hidden=True)
@DIR_ARG
@click.option("--port", "ports", multiple=True, help="NAME=PORT: the port of a service URL (population, vero, dvv).")
def backends_command(directory: Path, ports: tuple[str, ...]) -> None:
    """(internal) Run the sample backends and adapters; write DIR/backends.json."""
    from adapters.sandbox_backends import start_all
    from trust.pki import load_certificates
    from trust.keys import SoftToken, write_atomic

    from gateway.settings import token_pin

    token = SoftToken(directory / "token", token_pin(directory))
    chain = load_certificates((directory / "population-sign.pem").read_bytes())
    try:
        fixed = {name: int(port) for name, _, port in (p.partition("=") for p in ports)}
    except ValueError:
        raise click.UsageError(f"--port takes NAME=PORT, not {ports}") from None
    running = start_all(directory / "work", token, "population-sign", chain, ports=fixed)
    write_atomic(directory / "backends.json", json.dumps(dict(running.urls)).encode())
    stop = stop_on_signal()
    try:
        stop.wait()
    finally:
        running.close()


@sandbox_group.command("watchdog", hidden=True)
@DIR_ARG
@click.option("--pid", "owner_pid", type=int, required=True)
def watchdog_command(directory: Path, owner_pid: int) -> None:
    """(internal) Take the sandbox in DIR down when process PID ends."""
    from gateway.sandbox import watch

    watch(directory.resolve(), owner_pid)
