"""``sild central ...`` commands that edit the registry's content.

Members and their classes, subsystems, gateways, global groups, approved CAs and
TSAs, settings, registration requests and API keys: each command changes one thing
in the registry in one transaction and prints one line (or JSON). They share no
state with the node commands of :mod:`._cli`, which adds these groups to
``sild central``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import click

from trust.keys import DigestAlgorithm
from trust.pki import fingerprint_hex

from federation.central.registry import ROLES, Registry, load_der_certificate

from ._cli_input import DIR_ARG, CliInputError, _client, _clients, _home, _member, _read, _server, _subsystem


# -- registry ---------------------------------------------------------------------------


@click.group("member-class")
def member_class_group() -> None:
    """Member classes (GOV, COM, ...)."""


def _add_coded(group: click.Group, add: Callable[[Registry, str, str], None], what: str) -> None:
    """``GROUP add DIR --code CODE [--description TEXT]``: a member class or a global group."""

    @group.command("add")
    @DIR_ARG
    @click.option("--code", required=True)
    @click.option("--description", default="")
    def add_command(directory: Path, code: str, description: str) -> None:
        add(_home(directory).registry(), code, description)
        click.echo(f"{what} {code} added")


_add_coded(member_class_group, Registry.add_member_class, "member class")


@member_class_group.command("list")
@DIR_ARG
def member_class_list(directory: Path) -> None:
    for code, description in _home(directory).registry().member_classes():
        click.echo(f"{code}\t{description}")


@click.group("member")
def member_group() -> None:
    """Members of the instance."""


@member_group.command("add")
@DIR_ARG
@click.option("--member", required=True, help="INSTANCE/CLASS/CODE")
@click.option("--name", required=True)
def member_add(directory: Path, member: str, name: str) -> None:
    _home(directory).registry().add_member(_member(member), name)
    click.echo(f"member {member} added")


@member_group.command("remove")
@DIR_ARG
@click.option("--member", required=True)
def member_remove(directory: Path, member: str) -> None:
    _home(directory).registry().remove_member(_member(member))
    click.echo(f"member {member} removed")


@member_group.command("list")
@DIR_ARG
def member_list(directory: Path) -> None:
    for member, name, subs in _home(directory).registry().members():
        click.echo(f"{member.to_text()}\t{name}")
        for code, sub_name in subs:
            click.echo(f"{member.subsystem(code).to_text()}\t{sub_name or ''}")


@click.group("subsystem")
def subsystem_group() -> None:
    """Subsystems of members."""


@subsystem_group.command("add")
@DIR_ARG
@click.option("--subsystem", required=True, help="INSTANCE/CLASS/CODE/SUBSYSTEM")
@click.option("--name", default=None)
def subsystem_add(directory: Path, subsystem: str, name: str | None) -> None:
    _home(directory).registry().add_subsystem(_subsystem(subsystem), name)
    click.echo(f"subsystem {subsystem} added")


@click.group("gateway")
def gateway_group() -> None:
    """Gateways (security servers)."""


@gateway_group.command("add")
@DIR_ARG
@click.option("--server", required=True, help="INSTANCE/CLASS/CODE/SERVERCODE")
@click.option("--address", default=None, help="Host name the other gateways connect to.")
@click.option("--auth-cert", "auth_certs", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--client", "clients", multiple=True, help="Member or subsystem id served by the gateway.")
def gateway_add(directory: Path, server: str, address: str | None, auth_certs: tuple[Path, ...], clients: tuple[str, ...]) -> None:
    certs = [_read(p, "auth certificate") for p in auth_certs]
    _home(directory).registry().add_gateway(_server(server), address=address, auth_certs=certs, clients=_clients(clients))
    click.echo(f"gateway {server} added")


@gateway_group.command("remove")
@DIR_ARG
@click.option("--server", required=True)
def gateway_remove(directory: Path, server: str) -> None:
    _home(directory).registry().remove_gateway(_server(server))
    click.echo(f"gateway {server} removed")


@gateway_group.command("add-auth-cert")
@DIR_ARG
@click.option("--server", required=True)
@click.option("--cert", "cert", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The gateway's new auth certificate (PEM or DER).")
def gateway_add_auth_cert(directory: Path, server: str, cert: Path) -> None:
    """Add a renewed auth certificate; the old one keeps working until removed."""
    _home(directory).registry().add_auth_cert(_server(server), _read(cert, "auth certificate"))
    click.echo(f"auth certificate added to gateway {server}")


@gateway_group.command("remove-auth-cert")
@DIR_ARG
@click.option("--server", required=True)
@click.option("--sha256", "sha256_hex", default=None, help="SHA-256 hex of the certificate to remove.")
@click.option("--cert", "cert", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Or the certificate file itself.")
def gateway_remove_auth_cert(directory: Path, server: str, sha256_hex: str | None, cert: Path | None) -> None:
    """End an old auth certificate after a renewal (the last step of a rotation)."""
    if (sha256_hex is None) == (cert is None):
        raise CliInputError("give exactly one of --sha256 and --cert")
    if cert is not None:
        sha256_hex = fingerprint_hex(load_der_certificate(_read(cert, "auth certificate"), "auth certificate"),
                                     DigestAlgorithm.SHA256)
    assert sha256_hex is not None
    _home(directory).registry().remove_auth_cert(_server(server), sha256_hex)
    click.echo(f"auth certificate {sha256_hex[:16]}... removed from gateway {server}")


@gateway_group.command("maintenance")
@DIR_ARG
@click.option("--server", required=True)
@click.option("--on/--off", "enabled", required=True)
@click.option("--message", default=None)
def gateway_maintenance(directory: Path, server: str, enabled: bool, message: str | None) -> None:
    _home(directory).registry().set_maintenance(_server(server), enabled, message)
    click.echo(f"gateway {server} maintenance {'on' if enabled else 'off'}")


@gateway_group.command("list")
@DIR_ARG
def gateway_list(directory: Path) -> None:
    click.echo(json.dumps(_home(directory).registry().gateways(), indent=2))


@click.group("group")
def group_group() -> None:
    """Global groups."""


_add_coded(group_group, Registry.add_global_group, "global group")


@group_group.command("add-member")
@DIR_ARG
@click.option("--code", required=True)
@click.option("--client", required=True)
def group_add_member(directory: Path, code: str, client: str) -> None:
    _home(directory).registry().add_group_member(code, _clients((client,))[0])
    click.echo(f"{client} added to {code}")


# -- trust services ---------------------------------------------------------------------


@click.group("ca")
def ca_group() -> None:
    """Approved certification authorities."""


@ca_group.command("add")
@DIR_ARG
@click.option("--name", required=True)
@click.option("--cert", "cert", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--profile", required=True, help="certificateProfileInfo (Java class name), e.g. ...EjbcaCertificateProfileInfoProvider")
@click.option("--ocsp-url", "ocsp_urls", multiple=True)
@click.option("--ocsp-cert", "ocsp_certs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Responder certificate, one per --ocsp-url in the same order (omit when the CA signs itself).")
@click.option("--intermediate", "intermediates", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--auth-only", is_flag=True, help="The CA issues authentication certificates only.")
def ca_add(directory: Path, name: str, cert: Path, profile: str, ocsp_urls: tuple[str, ...], ocsp_certs: tuple[Path, ...],
           intermediates: tuple[Path, ...], auth_only: bool) -> None:
    if len(ocsp_certs) > len(ocsp_urls):
        raise CliInputError("more --ocsp-cert than --ocsp-url")
    ocsp = [(url, _read(ocsp_certs[i], "OCSP certificate") if i < len(ocsp_certs) else None) for i, url in enumerate(ocsp_urls)]
    _home(directory).registry().add_ca(
        name, _read(cert, "CA certificate"), ocsp=ocsp, certificate_profile=profile, authentication_only=auth_only,
        intermediates=[_read(p, "intermediate certificate") for p in intermediates],
    )
    click.echo(f"CA {name} approved")


@ca_group.command("list")
@DIR_ARG
def ca_list(directory: Path) -> None:
    click.echo(json.dumps(_home(directory).registry().cas(), indent=2))


@ca_group.command("remove")
@DIR_ARG
@click.option("--name", required=True)
def ca_remove(directory: Path, name: str) -> None:
    _home(directory).registry().remove_ca(name)
    click.echo(f"CA {name} removed")


@click.group("tsa")
def tsa_group() -> None:
    """Approved timestamping authorities."""


@tsa_group.command("add")
@DIR_ARG
@click.option("--name", required=True)
@click.option("--url", required=True)
@click.option("--cert", "cert", required=True, type=click.Path(dir_okay=False, path_type=Path))
def tsa_add(directory: Path, name: str, url: str, cert: Path) -> None:
    _home(directory).registry().add_tsa(name, url, _read(cert, "TSA certificate"))
    click.echo(f"TSA {name} approved")


@tsa_group.command("list")
@DIR_ARG
def tsa_list(directory: Path) -> None:
    click.echo(json.dumps(_home(directory).registry().tsas(), indent=2))


@click.group("settings")
def settings_group() -> None:
    """Global settings (ocspFreshnessSeconds, confExpireIntervalSeconds, ...)."""


@settings_group.command("set")
@DIR_ARG
@click.argument("name")
@click.argument("value")
def settings_set(directory: Path, name: str, value: str) -> None:
    _home(directory).registry().set_setting(name, value)
    click.echo(f"{name} = {value}")


@settings_group.command("list")
@DIR_ARG
def settings_list(directory: Path) -> None:
    for name, value in sorted(_home(directory).registry().settings().items()):
        click.echo(f"{name}\t{value}")


@click.group("monitoring-client")
def monitoring_client_group() -> None:
    """The central monitoring client (X-Road's MONITORING part): it may read every gateway's operational data."""


@monitoring_client_group.command("set")
@DIR_ARG
@click.argument("client")
def monitoring_client_set(directory: Path, client: str) -> None:
    """Name CLIENT (INSTANCE/CLASS/CODE[/SUBSYSTEM]); the next generation publishes it to the gateways."""
    _home(directory).registry().set_monitoring_client(_client(client))
    click.echo(f"central monitoring client: {client} (published with the next generation)")


@monitoring_client_group.command("clear")
@DIR_ARG
def monitoring_client_clear(directory: Path) -> None:
    """Name none: gateways then answer only their owners with all operational data."""
    _home(directory).registry().set_monitoring_client(None)
    click.echo("no central monitoring client (the MONITORING part is no longer published)")


@monitoring_client_group.command("show")
@DIR_ARG
def monitoring_client_show(directory: Path) -> None:
    client = _home(directory).registry().monitoring_client()
    click.echo(client.to_text() if client is not None else "none")


# -- registration requests and API keys ---------------------------------------------------


@click.group("registration")
def registration_group() -> None:
    """Gateway registration requests and the management requests of registered gateways."""


@registration_group.command("list")
@DIR_ARG
@click.option("--status", type=click.Choice(["submitted", "approved", "declined"]), default=None)
def registration_list(directory: Path, status: str | None) -> None:
    from federation.central.registry import list_requests

    click.echo(json.dumps([r.to_json() for r in list_requests(_home(directory).registry(), status)], indent=2))


@registration_group.command("approve")
@DIR_ARG
@click.argument("request_id", type=int)
def registration_approve(directory: Path, request_id: int) -> None:
    from federation.central.registry import decide

    info = decide(_home(directory).registry(), request_id, approve=True, by=f"cli:{os.environ.get('USER', 'operator')}")
    click.echo(f"request {request_id} approved: {info.outcome()}")


@registration_group.command("decline")
@DIR_ARG
@click.argument("request_id", type=int)
@click.option("--comment", default=None)
def registration_decline(directory: Path, request_id: int, comment: str | None) -> None:
    from federation.central.registry import decide

    decide(_home(directory).registry(), request_id, approve=False, by=f"cli:{os.environ.get('USER', 'operator')}", comment=comment)
    click.echo(f"request {request_id} declined")


@click.group("apikey")
def apikey_group() -> None:
    """API keys of the management API."""


@apikey_group.command("create")
@DIR_ARG
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
def apikey_create(directory: Path, name: str, roles: tuple[str, ...]) -> None:
    """Create a key and print it once (only its hash is stored)."""
    click.echo(_home(directory).registry().create_api_key(name, roles))


@apikey_group.command("list")
@DIR_ARG
def apikey_list(directory: Path) -> None:
    for key in _home(directory).registry().api_keys():
        click.echo(f"{key.name}\t{','.join(key.roles)}\t{'revoked' if key.revoked else 'active'}")


@apikey_group.command("revoke")
@DIR_ARG
@click.option("--name", required=True)
def apikey_revoke(directory: Path, name: str) -> None:
    _home(directory).registry().revoke_api_key(name)
    click.echo(f"API key {name} revoked")
