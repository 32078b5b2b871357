"""The cluster commands (see the room's face)::

    sild gateway drain DIR [--grace S] [--timeout S]
    sild gateway cluster haproxy-config DIR[@HOST]... --is-listen HOST:PORT --peer-listen HOST:PORT [--out FILE]
    sild gateway cluster export DIR --out FILE            (passphrase from SILD_CLUSTER_PASSPHRASE or a prompt)
    sild gateway cluster join DIR --bundle FILE --is-port N --peer-port N --health-port N [--messagelog-url URL]
"""

from __future__ import annotations

import os
from pathlib import Path

import click

DIR_ARG = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
PASSPHRASE_VARIABLE = "SILD_CLUSTER_PASSPHRASE"


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def _passphrase(confirm: bool) -> str:
    """The bundle's passphrase: from the environment (scripts), else asked (never an argument: ``ps`` shows those)."""
    value = os.environ.get(PASSPHRASE_VARIABLE, "")
    if value:
        return value
    return str(click.prompt("bundle passphrase", hide_input=True, confirmation_prompt=confirm))


@click.command("drain")
@DIR_ARG
@click.option("--grace", type=click.FloatRange(0, 3600), default=None,
              help="Seconds the health port says 503 before the ports close: the balancer's checks "
                   "take the node out meanwhile (default 8).")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=None,
              help="Seconds the exchanges in flight get to finish once the ports close (default 30).")
def drain_command(directory: Path, grace: float | None, timeout: float | None) -> None:
    """Take a node out of its cluster: unhealthy to the balancer, finish in-flight exchanges, stop."""
    from gateway.node import DEFAULT_GRACE_SECONDS, DEFAULT_TIMEOUT_SECONDS, request_drain

    grace = DEFAULT_GRACE_SECONDS if grace is None else grace
    timeout = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    click.echo(f"draining {directory}: the health port answers 503 now, the ports close in {grace:g} s, "
               f"exchanges in flight get {timeout:g} s more", err=True)
    pids = request_drain(directory, grace_seconds=grace, timeout_seconds=timeout)
    click.echo(f"drained: the node's processes ({', '.join(map(str, pids))}) have stopped")


@click.group("cluster")
def cluster_group() -> None:
    """Several nodes of one gateway behind a load balancer: HAProxy configuration, joining a node."""


@cluster_group.command("haproxy-config")
@click.argument("nodes", nargs=-1, required=True)
@click.option("--is-listen", required=True, help="HOST:PORT the balancer serves information systems on.")
@click.option("--peer-listen", required=True,
              help="HOST:PORT the balancer serves other gateways on (the address registered for the gateway).")
@click.option("--is-tls-listen", default=None, help="HOST:PORT for the nodes' IS TLS ports (optional).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the configuration here (default: print it).")
def haproxy_config_command(nodes: tuple[str, ...], is_listen: str, peer_listen: str, is_tls_listen: str | None,
                           out: Path | None) -> None:
    """HAProxy configuration for the nodes: NODE is a node's directory, DIR@HOST where the balancer reaches it."""
    from gateway.node import cluster_config
    from trust.infra import write_atomic

    places = [(Path(d), host or None) for d, _at, host in (n.partition("@") for n in nodes)]
    text = cluster_config(places, is_listen=_address(is_listen), peer_listen=_address(peer_listen),
                          is_tls_listen=_address(is_tls_listen) if is_tls_listen else None)
    if out is None:
        click.echo(text, nl=False)
        return
    write_atomic(out, text.encode())
    click.echo(f"wrote {out}; check it with `/usr/sbin/haproxy -c -f {out}`", err=True)


@cluster_group.command("export")
@DIR_ARG
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The bundle to write.")
def export_command(directory: Path, out: Path) -> None:
    """Write the primary's keys and settings, encrypted, for `cluster join` on a new node."""
    from gateway.provision import export_cluster_bundle
    from trust.infra import write_atomic

    bundle = export_cluster_bundle(directory, _passphrase(confirm=True))
    write_atomic(out, bundle, mode=0o600)
    click.echo(f"wrote {out} ({len(bundle)} bytes, encrypted); carry it to the new node and run "
               f"`.venv/bin/sild gateway cluster join NEWDIR --bundle {out.name} ...` there")


@cluster_group.command("join")
@DIR_ARG
@click.option("--bundle", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--is-port", type=click.IntRange(1, 65535), required=True)
@click.option("--peer-port", type=click.IntRange(1, 65535), required=True)
@click.option("--health-port", type=click.IntRange(1, 65535), required=True)
@click.option("--admin-port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option("--messagelog-url", default="", help="This node's own message log (default: SQLite in DIR).")
def join_command(directory: Path, bundle: Path, is_port: int, peer_port: int, health_port: int, admin_port: int,
                 messagelog_url: str) -> None:
    """Make DIR a new node of the primary's cluster from its bundle (`cluster export`)."""
    from gateway.provision import join_cluster

    settings = join_cluster(directory, bundle.read_bytes(), _passphrase(confirm=False), is_port=is_port,
                            peer_port=peer_port, health_port=health_port, admin_port=admin_port,
                            messagelog_url=messagelog_url)
    click.echo(f"{directory} is a node of gateway {settings.server}: IS port {is_port}, peers port {peer_port}, "
               f"health port {health_port}; start it with `.venv/bin/sild gateway serve {directory}` "
               f"and add it to the balancer (`.venv/bin/sild gateway cluster haproxy-config`)")
