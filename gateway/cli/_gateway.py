"""``sild gateway ...``: set a gateway up, register it, serve it, ask how it is.

    sild gateway init DIR --anchor FILE --server EE/GOV/70000001/gw1
    sild gateway add-member DIR --member EE/COM/10000003      (another hosted member's sign key)
    sild gateway import-cert DIR FILE                         (issued auth/sign certificates)
    sild gateway register DIR --authority URL [--address HOST:PORT] [--client ID ...]
    sild gateway serve DIR [--workers N]                      (N processes serve the ports)
    sild gateway status DIR
    sild gateway ocsp refresh DIR                             (fetch own OCSP responses now)
    sild gateway anchor install DIR FILE                      (a new anchor, verified; no restart)
    sild gateway anchor history DIR                           (each anchor used, and when: for old evidence)
    sild gateway set DIR NAME=VALUE ...                       (change gateway.json; live where it can be)

The token PIN comes from ``$SILD_TOKEN_PIN`` (or ``DIR/token.pin``, written only by
the sandbox). Administration commands of the server configuration (clients,
services, access rights) are added from :mod:`gateway.cli._admin` when present.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

import click

from trust.errors import IdentifierError
from trust.infra import utc_now
from trust.protocol import parse_client
from trust.keys import KeyType

from gateway.provision import add_member, import_certificate, init_gateway
from gateway.settings import MAX_WORKERS, NodeSettings, SetupError, federations_text, parse_federations, token_pin

from ._signals import stop_on_signal

DIR_ARG = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.group("gateway")
def gateway_group() -> None:
    """Run a gateway (security server): set-up, registration, serving, status."""


@gateway_group.command("init")
@DIR_ARG
@click.option("--anchor", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The instance's configuration anchor (compare its SHA-224 out of band).")
@click.option("--server", required=True, help="Gateway identifier INSTANCE/CLASS/MEMBER/SERVERCODE.")
@click.option("--key-type", type=click.Choice([k.value for k in KeyType]), default=KeyType.RSA2048.value,
              show_default=True)
@click.option("--is-port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--is-tls-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="HTTPS port for information systems (https / https-cert clients); 0 = off.")
@click.option("--peer-port", type=click.IntRange(0, 65535), default=5500, show_default=True)
@click.option("--ocsp-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Plain-HTTP OCSP-responses port for X-Road peers (5577); 0 = off.")
@click.option("--admin-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Admin API port (HTTPS, certificate in DIR/admin-tls/); 0 = off.")
@click.option("--admin-listen", "admin_host", default="127.0.0.1", show_default=True,
              help="Address the admin API listens on (an internal address or 0.0.0.0 to reach it from other machines).")
@click.option("--address", default="", help="Address registered for this gateway (host or host:port).")
@click.option("--is-listen", "is_host", default="127.0.0.1", show_default=True,
              help="Address the IS ports listen on (0.0.0.0: every interface, for ISs on other machines).")
@click.option("--peer-listen", "peer_host", default=None,
              help="Address the mutual-TLS port listens on [default: 0.0.0.0 when --address names a host "
                   "other than loopback, else 127.0.0.1].")
@click.option("--allowed-federations", "allowed", default="none", show_default=True,
              help="Federated instances whose configuration to use: none, all, or codes such as EE,FI.")
@click.option("--allow-federation", "old_allowed", multiple=True, hidden=True,
              help="Deprecated spelling of --allowed-federations (repeatable).")
def init_command(directory: Path, anchor: Path, server: str, key_type: str, is_port: int, is_tls_port: int,
                 peer_port: int, ocsp_port: int, admin_port: int, admin_host: str, address: str, is_host: str,
                 peer_host: str | None, allowed: str, old_allowed: tuple[str, ...]) -> None:
    """Create the gateway directory, its keys and the CSRs of its certificates."""
    from federation.anchor import anchor_fingerprint

    if old_allowed:
        click.echo("sild: warning: --allow-federation is deprecated; use --allowed-federations "
                   f"{','.join(old_allowed)}", err=True)
        allowed = ",".join(old_allowed) if allowed == "none" else ",".join((allowed, *old_allowed))
    settings = init_gateway(directory, anchor=anchor, server=server, pin=token_pin(directory),
                            key_type=KeyType(key_type), settings={
                                "is_host": is_host, "is_port": is_port, "is_tls_port": is_tls_port,
                                "peer_host": peer_host or default_peer_host(address), "peer_port": peer_port,
                                "ocsp_port": ocsp_port, "admin_port": admin_port, "admin_listen": admin_host,
                                "public_address": address,
                                "allowed_federations": parse_federations(allowed)})
    click.echo(f"gateway {settings.server} of instance {settings.instance} created in {directory}")
    click.echo(f"anchor SHA-224: {anchor_fingerprint(anchor.read_bytes())}")
    click.echo(f"auth CSR: {directory / 'csr' / 'auth.csr.pem'}")
    click.echo(f"sign CSR: {directory / 'csr' / 'sign.csr.pem'}")
    click.echo(f"listening when served: IS {settings.is_host}:{settings.is_port}, "
               f"mutual TLS {settings.peer_host}:{settings.peer_port}; "
               f"allowed federations: {federations_text(settings.allowed_federations)}")
    _admin_certificate(directory, settings)


def _admin_certificate(directory: Path, settings: NodeSettings) -> None:
    """Make the admin API's certificate now, so its fingerprint can be pinned before the first start."""
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from gateway.admin import ensure_admin_tls

    path, _made = ensure_admin_tls(directory, settings, now=utc_now())
    der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)
    where = f"{settings.admin_listen}:{settings.admin_port}" if settings.admin_port else "off (--admin-port)"
    click.echo(f"admin API: {where}; certificate {path} SHA-256 {hashlib.sha256(der).hexdigest()}")


def default_peer_host(address: str) -> str:
    """Where the mutual-TLS port listens unless told: everywhere when other machines are to reach it.

    A gateway registered as ``gw1.tax.ee:5500`` must accept connections from other
    gateways, so its peer port listens on every interface; a gateway without an address,
    or with a loopback one (a sandbox on one machine), stays on 127.0.0.1.
    """
    host = address.strip()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    loopback = not host or host == "localhost" or host == "::1" or host.startswith("127.")
    return "127.0.0.1" if loopback else "0.0.0.0"


@gateway_group.command("add-member")
@DIR_ARG
@click.option("--member", required=True, help="Another member hosted here, INSTANCE/CLASS/CODE.")
def add_member_command(directory: Path, member: str) -> None:
    """Create a sign key and CSR for another member whose subsystems this gateway serves."""
    try:
        client = parse_client(member)
    except IdentifierError as exc:
        raise SetupError(f"invalid member {member!r}: {exc}") from exc
    path = add_member(directory, client.member, pin=token_pin(directory))
    click.echo(f"sign CSR for {client.member.to_text()}: {path}")
    from gateway.node import soft_key_notice

    if notice := soft_key_notice(directory):
        click.echo(notice, err=True)


@gateway_group.command("import-cert")
@DIR_ARG
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def import_cert_command(directory: Path, file: Path) -> None:
    """Import an issued certificate (PEM, leaf first, chain may follow)."""
    key_id = import_certificate(directory, file.read_bytes(), pin=token_pin(directory))
    click.echo(f"imported certificate for key {key_id}")


@gateway_group.command("register")
@DIR_ARG
@click.option("--authority", "authority_url", required=True, help="Base URL of the governing authority.")
@click.option("--address", default=None, help="Address to register (default: from gateway.json).")
@click.option("--client", "clients", multiple=True, help="Subsystem served by this gateway (repeatable).")
def register_command(directory: Path, authority_url: str, address: str | None, clients: tuple[str, ...]) -> None:
    """Send a registration request (signed by the owner's sign key and the auth key).

    The same request as ``POST /api/v1/registration`` and the gateway UI's "Register
    this gateway" (:func:`gateway.admin.send_registration_request`).
    """
    from gateway.admin import send_registration_request

    try:
        client_ids = tuple(parse_client(c) for c in clients)
    except IdentifierError as exc:
        raise SetupError(f"invalid client: {exc}") from exc
    answer = send_registration_request(directory, authority=authority_url, address=address, clients=client_ids)
    click.echo(f"registration request submitted: {json.dumps(answer)}")


def _serving_logs(label: str) -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s {label}%(name)s: %(message)s")
    for chatty in ("httpx", "httpcore", "apscheduler"):  # one line per HTTP call would cost ~3 % CPU
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _run_until_signal(node: Any, *, parent: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or, for a worker, until its parent process is gone); then stop."""
    # What exists now (modules, configuration, keys, pools) lives as long as the node;
    # taken out of the collector's generations, it is not rescanned by every full
    # collection that the per-message allocations trigger.
    gc.collect()
    gc.freeze()
    from gateway.node import DrainWatch

    stop = stop_on_signal()
    drain = DrainWatch(node.directory, node, main=parent is None)  # `sild gateway drain` (gateway.node._drain)
    try:
        while not stop.wait(1.0):
            if parent is not None and os.getppid() != parent:
                break  # the main process is gone (killed): a worker must not serve on alone
            if drain.poll():
                break
    finally:
        node.stop(drain_seconds=drain.timeout)


@gateway_group.command("serve")
@DIR_ARG
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=None,
              help="Worker processes serving the IS and mutual-TLS ports; this one then supervises them "
                   "and runs the jobs (default: `workers` of gateway.json, 1 = this process serves).")
def serve_command(directory: Path, workers: int | None) -> None:
    """Serve the IS port, the mutual-TLS port and the jobs until SIGTERM/SIGINT."""
    from gateway.node import GatewayNode, clear_drain
    from gateway.provision import GATEWAY_BACKUP
    from trust.backup import refuse_drill_copy

    refuse_drill_copy(directory, GATEWAY_BACKUP)  # a drill's copy has the live node's identity and ports
    clear_drain(directory)  # left by a drain whose command was killed: this node is to serve
    _serving_logs("")
    node = GatewayNode(directory)
    node.start(workers=workers)
    extra = f", served by {len(node.workers.pids)} worker processes" if node.workers is not None else ""
    click.echo(f"gateway {node.server_id.to_text()}: IS {node.is_url}, peers port {node.peer_port}{extra}", err=True)
    _run_until_signal(node)


@gateway_group.command("worker", hidden=True)
@DIR_ARG
@click.option("--index", type=click.IntRange(1, MAX_WORKERS), required=True)
@click.option("--listen", "listen", multiple=True, required=True, help="NAME=FD of a socket the main process bound.")
def worker_command(directory: Path, index: int, listen: tuple[str, ...]) -> None:
    """(internal) One worker process of `sild gateway serve` (gateway.node._workers)."""
    from gateway.node import GatewayNode
    from gateway.node import parse_listen

    parent = os.getppid()
    _serving_logs(f"worker-{index} ")
    try:
        sockets = parse_listen(listen)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    node = GatewayNode(directory).start_worker(sockets, index)
    _run_until_signal(node, parent=parent)


@gateway_group.command("status")
@DIR_ARG
@click.option("--json", "as_json", is_flag=True)
def status_command(directory: Path, as_json: bool) -> None:
    """Health (the X-Road error code traffic gets now), configuration, OCSP, TSAs, maintenance, message log."""
    from gateway.node import gateway_status, status_lines

    data = gateway_status(directory, utc_now())
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo("\n".join(status_lines(data)))


@gateway_group.group("ocsp")
def ocsp_group() -> None:
    """OCSP responses of the gateway's own certificates."""


@ocsp_group.command("refresh")
@DIR_ARG
@click.option("--json", "as_json", is_flag=True)
def ocsp_refresh_command(directory: Path, as_json: bool) -> None:
    """Fetch fresh OCSP responses for the own certificates now (the node picks them up within 30 s)."""
    from gateway.node import refresh_own_ocsp, status_lines

    settings = NodeSettings.load(directory)
    ocsp = refresh_own_ocsp(directory, utc_now())
    if as_json:
        click.echo(json.dumps(ocsp, indent=2))
    else:
        lines = status_lines({"server": settings.server, "instance": settings.instance, "registration": "",
                              "configuration": {}, "ocsp": ocsp, "timestamping": {}})
        click.echo("\n".join(line for line in lines if line.startswith(("  OCSP", "    "))))
    if ocsp.get("last_error"):
        raise click.exceptions.Exit(1)


@gateway_group.command("set")
@DIR_ARG
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
def set_command(directory: Path, assignments: tuple[str, ...]) -> None:
    """Change settings of gateway.json (validated, written atomically).

    A running node takes the live ones within seconds; those fixed at start (ports,
    listen addresses, workers, databases) take effect at the next restart, and this
    command says so.
    """
    from gateway.node import check_timestamping_change
    from gateway.settings import restart_only, with_changes

    before = NodeSettings.load(directory)
    changes: dict[str, Any] = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep:
            raise SetupError(f"{text!r} is not NAME=VALUE")
        changes[name] = value
    after = with_changes(before, changes)
    check_timestamping_change(directory, changes, utc_now())  # an unapproved TSA refused as `tsa use` does
    after.save(directory)
    for name in changes:
        old, new = getattr(before, name), getattr(after, name)
        if name == "allowed_federations":
            old, new = federations_text(old), federations_text(new)
        click.echo(f"{name}: {old} -> {new}")
    for name in restart_only(before, after):
        click.echo(f"sild: warning: {name} takes effect at the next restart of the node", err=True)


def _add_admin_commands() -> None:
    """Server-configuration commands (clients, services, rights, keys, log) live in ``cli_admin``."""
    from gateway.cli import _admin as cli_admin
    for name in getattr(cli_admin, "__all__", ()):
        command = getattr(cli_admin, name, None)
        if isinstance(command, click.Command) and command.name not in gateway_group.commands:
            gateway_group.add_command(command)


_add_admin_commands()


def _add_audit() -> None:
    """``gateway audit DIR``, and every state-changing command recorded in the gateway's audit log."""
    from trust.infra import audit_command, audit_commands

    from ._directory import open_audit

    gateway_group.add_command(audit_command(open_audit, "a gateway directory"))
    audit_commands(gateway_group, open_audit)


def _add_tracker() -> None:
    """``gateway tracker ...`` (the data tracker, issue 20) and ``gateway anchor ...`` live in subrooms."""
    from gateway.cli.anchor import anchor_group
    from gateway.cli.tracker import tracker_group
    from gateway.cli.tsa import tsa_group
    gateway_group.add_command(tsa_group)  # sild gateway tsa ... (recorded in the audit log below)
    gateway_group.add_command(anchor_group)
    gateway_group.add_command(tracker_group)


_add_tracker()
_add_audit()


def _add_cluster() -> None:
    """``gateway drain DIR`` and ``gateway cluster ...`` live in the subroom ``gateway.cli.cluster``."""
    from gateway.cli.cluster import audit_cluster, cluster_group, drain_command

    from ._directory import open_audit

    gateway_group.add_command(drain_command)
    gateway_group.add_command(cluster_group)
    audit_cluster(open_audit)  # recorded in the audit log like the commands above


_add_cluster()
