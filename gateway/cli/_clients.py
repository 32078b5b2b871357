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
from typing import Any

import click

from trust.protocol import ClientId

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


def _authority(directory: Path, given: str | None) -> str:
    """The authority's URL: as given, else the one the gateway registered with (``gateway register``)."""
    from gateway.settings import NodeSettings, SetupError

    url = given or str(NodeSettings.load(directory).registration.get("authority") or "")
    if not url:
        raise SetupError("no authority URL known for this gateway: give --authority URL")
    return url


def send_management_request(directory: Path, request_type: str, *, authority: str | None,
                            client: ClientId | None = None, address: str | None = None) -> dict[str, object]:
    """Build, sign and submit one management request as ``gateway register`` does its request.

    The owner's sign key and the auth key in use (the newest active ones,
    :func:`gateway.provision.owner_keys`) sign it, each certificate with a fresh OCSP
    response fetched now; a client or new owner that is another member hosted here
    (``gateway add-member``) signs with its own sign key too, as X-Road requires.
    """
    from federation.central import (
        MemberSigner, build_management_request, concerned_member, submit_registration_request,
    )
    from trust.infra import utc_now

    from gateway.conf import ConfStore
    from gateway.node import PolicyCache
    from gateway.provision import load_cert_chain, open_registry, owner_keys, sign_keys, signing_keys
    from gateway.settings import NodeSettings, SetupError, token_pin
    from gateway.signing import OwnOcspStore

    url = _authority(directory, authority)
    settings = NodeSettings.load(directory)
    concerned = concerned_member(request_type, settings.server_id, () if client is None else (client,))
    token = open_registry(directory, token_pin(directory))  # the newest active keys sign, in whichever token
    chosen = dict(owner_keys(directory, token))
    if concerned is not None:
        hosted = [k for k, member in sign_keys(directory).items() if member == concerned]
        member_key = signing_keys(directory, token).get(concerned)
        if member_key is None and not hosted:
            raise SetupError(f"{concerned.to_text()} signs this request too, but this gateway holds no sign key for it "
                             f"(run `.venv/bin/sild gateway add-member {directory} --member {concerned.to_text()}`)")
        chosen["member"] = member_key or (hosted[0], load_cert_chain(directory, hosted[0]))
    key_ids = {name: key_id for name, (key_id, _chain) in chosen.items()}
    chains = {name: chain for name, (_key_id, chain) in chosen.items()}
    store = ConfStore(directory, settings, clock=utc_now)
    store.refresh()
    ocsp = OwnOcspStore(directory / "ocsp", {key_ids[n]: chain[0] for n, chain in chains.items()},
                        PolicyCache(store.current), settings.instance)
    ocsp.refresh(utc_now())
    if not all(ocsp.for_key(key_id) for key_id in key_ids.values()):
        raise SetupError(f"cannot get OCSP responses for the certificates: {ocsp.health().get('last_error')}")

    def signer(name: str) -> MemberSigner:
        return MemberSigner(token, key_ids[name], chains[name][0], ocsp.for_key(key_ids[name])[0])

    from cryptography.hazmat.primitives import serialization

    document = build_management_request(
        request_type, server=settings.server_id, auth_cert=chains["auth"][0].public_bytes(serialization.Encoding.DER),
        auth_signer=token, auth_key_id=key_ids["auth"], auth_ocsp=ocsp.for_key(key_ids["auth"])[0],
        owner=signer("sign"), client=client, address=address,
        member=signer("member") if "member" in key_ids else None, created_at=utc_now())
    return submit_registration_request(url, document)


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
    if conf.snapshot().client(client) is None:
        conf.add_client(client, state="REGISTRATION_IN_PROGRESS")
    else:
        conf.set_client_state(client, "REGISTRATION_IN_PROGRESS")
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
    if conf.snapshot().client(client) is not None:
        conf.set_client_state(client, "DELETION_IN_PROGRESS")
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
    if not address.strip() or any(ch.isspace() or ch in "/?#@" for ch in address) or len(address) > 255:
        raise InvalidInput(f"{address!r} is not HOST or HOST:PORT")
    _submitted(f"address change ({address})",
               send_management_request(directory, "addressChange", authority=authority, address=address))


# -- after the authority's decision: the gateway follows the configuration ----------------------------


def _registered_here(directory: Path) -> tuple[Any, Any]:
    """(this gateway's settings, its entry in the freshly downloaded configuration of its instance or None).

    The gateway is found by its auth certificate, so it is found after an owner change too.
    """
    from cryptography.hazmat.primitives import serialization

    from trust.infra import utc_now

    from gateway.conf import ConfStore
    from gateway.provision import load_cert_chain
    from gateway.settings import NodeSettings, SetupError

    settings = NodeSettings.load(directory)
    store = ConfStore(directory, settings, clock=utc_now)
    store.refresh()
    own = store.current().get(settings.instance)
    if own is None:
        raise SetupError(f"no configuration of {settings.instance} could be downloaded yet")
    auth = load_cert_chain(directory, "auth")[0].public_bytes(serialization.Encoding.DER)
    return settings, own.shared.server_by_auth_cert(auth)


@client_group.command("sync")
@DIRECTORY
def client_sync(directory: Path) -> None:
    """Mark clients registered once the configuration lists them; report the ones it no longer lists."""
    conf = open_conf(directory)
    settings, server = _registered_here(directory)
    listed = set(server.clients) if server is not None else set()
    for info in conf.list_clients():
        if info.id == settings.server_id.owner:
            continue  # the owner is a client of its gateway without being listed
        if info.state == "REGISTRATION_IN_PROGRESS" and info.id in listed:
            conf.set_client_state(info.id, "REGISTERED")
            click.echo(f"{info.id.to_text()}: registered")
        elif info.state in ("REGISTERED", "DELETION_IN_PROGRESS") and info.id not in listed:
            click.echo(f"{info.id.to_text()}: not in the configuration any more; remove it with "
                       f"`.venv/bin/sild gateway client remove {directory} {info.id.to_text()}`")
        elif info.state in ("REGISTRATION_IN_PROGRESS", "DELETION_IN_PROGRESS"):
            click.echo(f"{info.id.to_text()}: {info.state}, waiting for the authority")


@owner_group.command("apply")
@DIRECTORY
def owner_apply(directory: Path) -> None:
    """Take on the owner the configuration names for this gateway, after an approved owner change."""
    from gateway.provision import change_owner
    from gateway.settings import SetupError

    settings, server = _registered_here(directory)
    if server is None:
        raise SetupError(f"the configuration of {settings.instance} does not list this gateway's auth certificate")
    if server.owner == settings.server_id.owner:
        click.echo(f"the configuration names {server.owner.to_text()} as the owner already: nothing to change")
        return
    new = change_owner(directory, server.owner)
    click.echo(f"this gateway is now {new.to_text()}; restart `.venv/bin/sild gateway serve {directory}` to serve as it")
