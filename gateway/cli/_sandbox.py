"""``sild sandbox up DIR`` / ``sild sandbox down DIR``: two federated instances on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

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
def up_command(directory: Path, timeout: float, owner_pid: int | None, workers: int) -> None:
    """Start trust services, authorities, gateways and sample backends; write DIR/sandbox.json."""
    from gateway.sandbox import up

    state = up(directory, timeout=timeout, owner_pid=owner_pid, workers=workers)
    click.echo(f"sandbox up in {state['directory']} ({len(state['gateways'])} gateways)")
    for gw in state["gateways"]:
        click.echo(f"  {gw['id']:<24} IS {gw['is_url']}  clients {', '.join(gw['clients'])}")
    for inst, info in state["instances"].items():
        click.echo(f"  {inst}: authority {info['central_url']}, anchor SHA-224 {info['anchors']['internal_sha224']}")
    click.echo(f"details: {Path(state['directory']) / 'sandbox.json'}")


@sandbox_group.command("down")
@DIR_ARG
def down_command(directory: Path) -> None:
    """Stop every process of the sandbox in DIR."""
    from gateway.sandbox import down

    stopped = down(directory)
    click.echo(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))


@sandbox_group.command("backends", hidden=True)
@DIR_ARG
def backends_command(directory: Path) -> None:
    """(internal) Run the sample backends and adapters; write DIR/backends.json."""
    from adapters.sandbox_backends import start_all
    from trust.pki import load_certificates
    from trust.keys import SoftToken, write_atomic

    from gateway.settings import token_pin

    token = SoftToken(directory / "token", token_pin(directory))
    chain = load_certificates((directory / "population-sign.pem").read_bytes())
    running = start_all(directory / "work", token, "population-sign", chain)
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
