"""Command group ``sild gateway client``: members and subsystems this gateway serves.

``add``/``set``/``remove`` edit the gateway's own configuration. ``register`` and
``delete`` tell the authority, with X-Road's signed management requests
(``clientReg``, ``clientDeletion``), and so do ``sild gateway owner change`` and
``sild gateway address`` (``ownerChange``, ``addressChange``), defined here because
they share the request's signing and submission; the change takes effect in the
registry when the authority's officer approves the request.
"""

from __future__ import annotations

from pathlib import Path

import click

from gateway.admin import apply_owner, check_address, mark_requested, registered_here, send_management_request, sync_clients
from gateway.serverconf import InvalidInput

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
             "allowed_addresses": [str(n) for n in c.allowed_networks], "certificates": sorted(c.cert_hashes),
             "log_body": "default" if c.body_logging is None else ("on" if c.body_logging else "off")}
            for c in clients]
    echo_out(data, as_json, [f"{c.id.typed_text():50} {c.state:12} {c.is_auth}" for c in clients] or ["no clients"])


@client_group.command("set")
@DIRECTORY
@click.argument("client_id")
@click.option("--state", type=click.Choice(["SAVED", "REGISTRATION_IN_PROGRESS", "REGISTERED", "DELETION_IN_PROGRESS", "DISABLED"]))
@click.option("--is-auth", type=click.Choice(["http", "https", "https-cert"]))
@click.option("--log-body", type=click.Choice(["on", "off", "default"]),
              help="Message bodies of this subsystem's services in the message log (default: message_body_logging).")
def client_set(directory: Path, client_id: str, state: str | None, is_auth: str | None, log_body: str | None) -> None:
    """Change a client's state, IS authentication or message-body logging."""
    conf = open_conf(directory)
    client = client_arg(client_id)
    if is_auth:
        conf.set_client_auth(client, is_auth)
    if state:
        conf.set_client_state(client, state)
    if log_body:
        conf.set_body_logging(client, {"on": True, "off": False}.get(log_body))
    click.echo(f"updated {client.typed_text()}")


@client_group.command("remove")
@DIRECTORY
@click.argument("client_id")
def client_remove(directory: Path, client_id: str) -> None:
    """Remove a client with its services, rights and groups."""
    open_conf(directory).remove_client(client_arg(client_id))
    click.echo(f"removed {client_id}")


# -- X-Road's management requests: the authority learns of a client's lifecycle -------------------
# (built, signed and sent by gateway.admin's send_management_request, which the admin API calls too)


def _submitted(what: str, answer: dict[str, object]) -> None:
    click.echo(f"{what} request {answer.get('id')} submitted; it takes effect when the authority approves it "
               f"(.venv/bin/sild central registration approve CENTRAL_DIR {answer.get('id')})")


AUTHORITY_OPTION = click.option("--authority", default=None,
                                help="Base URL of the governing authority (default: the one registered with).")


@client_group.command("register")
@DIRECTORY
@click.argument("client_id")
@AUTHORITY_OPTION
def client_register(directory: Path, client_id: str, authority: str | None) -> None:
    """Ask the authority to register a subsystem as a client of this registered gateway (X-Road's clientReg)."""
    client = client_arg(client_id)
    conf = open_conf(directory)  # a wrong directory is refused before anything is sent
    answer = send_management_request(directory, "clientReg", authority=authority, client=client)
    mark_requested(conf, client, "clientReg")
    _submitted(f"client registration ({client.to_text()})", answer)


@client_group.command("delete")
@DIRECTORY
@click.argument("client_id")
@AUTHORITY_OPTION
def client_delete(directory: Path, client_id: str, authority: str | None) -> None:
    """Ask the authority to delete a client of this gateway from the registry (X-Road's clientDeletion)."""
    client = client_arg(client_id)
    conf = open_conf(directory)
    answer = send_management_request(directory, "clientDeletion", authority=authority, client=client)
    mark_requested(conf, client, "clientDeletion")
    _submitted(f"client deletion ({client.to_text()})", answer)


@click.group("owner")
def owner_group() -> None:
    """The member that owns this gateway."""


@owner_group.command("change")
@DIRECTORY
@click.argument("member")
@AUTHORITY_OPTION
def owner_change(directory: Path, member: str, authority: str | None) -> None:
    """Ask the authority to make MEMBER, a client of this gateway, its owner (X-Road's ownerChange)."""
    from trust.protocol import MemberId

    new_owner = client_arg(member)
    if not isinstance(new_owner, MemberId):
        raise InvalidInput(f"{member!r} is not a member id (INSTANCE/CLASS/CODE)")
    _submitted(f"owner change ({new_owner.to_text()})",
               send_management_request(directory, "ownerChange", authority=authority, client=new_owner))


@click.command("address")
@DIRECTORY
@click.argument("address")
@AUTHORITY_OPTION
def address_command(directory: Path, address: str, authority: str | None) -> None:
    """Ask the authority to register a new address (HOST or HOST:PORT) for this gateway (X-Road's addressChange)."""
    check_address(address)
    _submitted(f"address change ({address})",
               send_management_request(directory, "addressChange", authority=authority, address=address))


# -- after the authority's decision: the gateway follows the configuration ----------------------------


@client_group.command("sync")
@DIRECTORY
def client_sync(directory: Path) -> None:
    """Mark clients registered once the configuration lists them; report the ones it no longer lists."""
    for entry in sync_clients(directory, open_conf(directory)):
        if entry["outcome"] == "registered":
            click.echo(f"{entry['client']}: registered")
        elif entry["outcome"] == "not_listed":
            click.echo(f"{entry['client']}: not in the configuration any more; remove it with "
                       f"`.venv/bin/sild gateway client remove {directory} {entry['client']}`")
        else:
            click.echo(f"{entry['client']}: {entry['state']}, waiting for the authority")


@owner_group.command("apply")
@DIRECTORY
def owner_apply(directory: Path) -> None:
    """Take on the owner the configuration names for this gateway, after an approved owner change."""
    server, changed = apply_owner(directory)
    if not changed:
        click.echo(f"the configuration names {server.owner.to_text()} as the owner already: nothing to change")
        return
    click.echo(f"this gateway is now {server.to_text()}; a running node serves as it within seconds (no restart)")
