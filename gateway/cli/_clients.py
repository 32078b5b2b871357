"""Command group ``sild gateway client``: members and subsystems this gateway serves.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._directory import DIRECTORY, JSON_OPTION, client_arg, echo_out, open_conf


@click.group("client")
def client_group() -> None:
    """Members and subsystems this gateway serves."""


@client_group.command("add")
@DIRECTORY
@click.argument("client_id")
@click.option("--is-auth", type=click.Choice(["http", "https", "https-cert"]), default="http", show_default=True,
              help="How the information system must connect.")
@click.option("--allow", "allowed", multiple=True, help="IP address or network an http IS may connect from.")
@click.option("--registered", is_flag=True, help="Mark it registered (its registration is in the global configuration).")
@click.option("--cert", "certs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="IS TLS certificate (PEM/DER) for https-cert.")
def client_add(directory: Path, client_id: str, is_auth: str, allowed: tuple[str, ...], registered: bool,
               certs: tuple[Path, ...]) -> None:
    """Add a client (member or subsystem)."""
    conf = open_conf(directory)
    client = client_arg(client_id)
    conf.add_client(client, is_auth=is_auth, allowed_addresses=list(allowed),
                    state="REGISTERED" if registered else "SAVED")
    for path in certs:
        conf.add_client_cert(client, path.read_bytes())
    click.echo(f"added {client.typed_text()} ({is_auth})")


@client_group.command("list")
@DIRECTORY
@JSON_OPTION
def client_list(directory: Path, as_json: bool) -> None:
    """List clients."""
    clients = open_conf(directory).list_clients()
    data = [{"id": c.id.to_text(), "state": c.state, "is_auth": c.is_auth,
             "allowed_addresses": [str(n) for n in c.allowed_networks], "certificates": sorted(c.cert_hashes)}
            for c in clients]
    echo_out(data, as_json, [f"{c.id.typed_text():50} {c.state:12} {c.is_auth}" for c in clients] or ["no clients"])


@client_group.command("set")
@DIRECTORY
@click.argument("client_id")
@click.option("--state", type=click.Choice(["SAVED", "REGISTRATION_IN_PROGRESS", "REGISTERED", "DELETION_IN_PROGRESS", "DISABLED"]))
@click.option("--is-auth", type=click.Choice(["http", "https", "https-cert"]))
def client_set(directory: Path, client_id: str, state: str | None, is_auth: str | None) -> None:
    """Change a client's state or IS authentication."""
    conf = open_conf(directory)
    client = client_arg(client_id)
    if is_auth:
        conf.set_client_auth(client, is_auth)
    if state:
        conf.set_client_state(client, state)
    click.echo(f"updated {client.typed_text()}")


@client_group.command("remove")
@DIRECTORY
@click.argument("client_id")
def client_remove(directory: Path, client_id: str) -> None:
    """Remove a client with its services, rights and groups."""
    open_conf(directory).remove_client(client_arg(client_id))
    click.echo(f"removed {client_id}")
