"""``sild central ...``: run and administer a governing authority from the shell.

Every command takes the authority directory ``DIR`` first. Commands that change the
registry commit one transaction; a running ``sild central serve DIR`` notices the
change (registry change counter) within its check interval and republishes. Without
a running node, ``sild central generate DIR`` publishes.

The token PIN is read from ``SILD_TOKEN_PIN``; unset, the development PIN
``sild-dev-pin`` is used (with a warning). Errors are one line (``sild: error: ...``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from trust.keys import DigestAlgorithm
from trust.pki import fingerprint_hex
from trust.errors import IdentifierError
from trust.protocol import MemberId, SecurityServerId, SubsystemId, parse_client, parse_server

from federation.anchor import anchor_fingerprint
from federation.errors import FederationError
from federation.central.registry import ROLES
from trust.infra import utc_now
from federation.central.registry import load_der_certificate
from federation.central.registry import DEV_PIN, PIN_ENV, CentralDir

DIR_ARG = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


class CliInputError(FederationError):
    code = "federation.cli.invalid_input"


def _pin() -> str:
    pin = os.environ.get(PIN_ENV)
    if pin:
        return pin
    click.echo(f"warning: {PIN_ENV} is not set; using the development PIN (never in production)", err=True)
    return DEV_PIN


def _home(directory: Path) -> CentralDir:
    return CentralDir(directory)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _member(text: str) -> MemberId:
    try:
        client = parse_client(text)
    except IdentifierError as exc:
        raise CliInputError(str(exc)) from exc
    if not isinstance(client, MemberId):
        raise CliInputError(f"{text!r} is not a member id (INSTANCE/CLASS/CODE)")
    return client


def _subsystem(text: str) -> SubsystemId:
    try:
        client = parse_client(text)
    except IdentifierError as exc:
        raise CliInputError(str(exc)) from exc
    if not isinstance(client, SubsystemId):
        raise CliInputError(f"{text!r} is not a subsystem id (INSTANCE/CLASS/CODE/SUBSYSTEM)")
    return client


def _server(text: str) -> SecurityServerId:
    try:
        return parse_server(text)
    except IdentifierError as exc:
        raise CliInputError(str(exc)) from exc


def _clients(texts: tuple[str, ...]) -> list[MemberId | SubsystemId]:
    out = []
    for text in texts:
        try:
            out.append(parse_client(text))
        except IdentifierError as exc:
            raise CliInputError(str(exc)) from exc
    return out


@click.group("central")
def central_group() -> None:
    """Governing authority: registry, configuration generation and distribution, federation."""


@central_group.command("init")
@DIR_ARG
@click.option("--instance", required=True, help="Instance identifier, e.g. EE.")
@click.option("--url", required=True, help="Public base URL of this authority, e.g. https://cs.example.ee")
@click.option("--member-class", "member_classes", multiple=True, metavar="CODE[=DESCRIPTION]",
              help="Member classes to create (default GOV and COM).")
@click.option("--database-url", default=None, help="PostgreSQL URL instead of DIR/registry.db.")
def init_cmd(directory: Path, instance: str, url: str, member_classes: tuple[str, ...], database_url: str | None) -> None:
    """Create an authority: registry, internal and external signing keys, first configuration."""
    from federation.central.registry import DEFAULT_MEMBER_CLASSES, init_central

    classes = [tuple(c.split("=", 1)) if "=" in c else (c, c) for c in member_classes] or list(DEFAULT_MEMBER_CLASSES)
    result = init_central(str(directory), instance=instance, url=url, pin=_pin(), now=utc_now(),
                          member_classes=classes, database_url=database_url)  # type: ignore[arg-type]
    click.echo(f"authority {instance} created in {directory}; configuration published (expires {result.expires_at.isoformat()})")


@central_group.command("serve")
@DIR_ARG
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--check-interval", default=5.0, show_default=True, type=float,
              help="Seconds between checks whether the configuration must be regenerated.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None)
def serve_cmd(directory: Path, host: str, port: int, check_interval: float, tls_cert: Path | None, tls_key: Path | None) -> None:
    """Serve distribution and the management API; regenerate on changes and before expiry."""
    import logging

    from ._node import NodeConfig, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _home(directory).close()  # refuse a non-authority directory before binding
    config = NodeConfig(directory=directory, host=host, port=port, pin=_pin(), check_interval=check_interval,
                        tls_cert=tls_cert, tls_key=tls_key)
    run(config, announce=click.echo)


@central_group.command("generate")
@DIR_ARG
@click.option("--force", is_flag=True, help="Regenerate even if nothing changed.")
def generate_cmd(directory: Path, force: bool) -> None:
    """Regenerate and publish the configuration now (if needed, or with --force)."""
    from ._generator import generate

    home = _home(directory)
    result = generate(home, home.token(_pin()), now=utc_now(), force=force)
    state = "published" if result.regenerated else "up to date"
    click.echo(f"{state}: serial {result.serial}, generation {result.folder}, expires {result.expires_at.isoformat()}")


@central_group.command("status")
@DIR_ARG
def status_cmd(directory: Path) -> None:
    """Instance, registry change counter and the published generation."""
    from ._publisher import read_state

    home = _home(directory)
    info = home.registry().info()
    click.echo(json.dumps({"instance": info.instance, "serial": info.serial, "published": read_state(home.public_dir)}, indent=2))


# -- registry ---------------------------------------------------------------------------


@central_group.group("member-class")
def member_class_group() -> None:
    """Member classes (GOV, COM, ...)."""


@member_class_group.command("add")
@DIR_ARG
@click.option("--code", required=True)
@click.option("--description", default="")
def member_class_add(directory: Path, code: str, description: str) -> None:
    _home(directory).registry().add_member_class(code, description)
    click.echo(f"member class {code} added")


@member_class_group.command("list")
@DIR_ARG
def member_class_list(directory: Path) -> None:
    for code, description in _home(directory).registry().member_classes():
        click.echo(f"{code}\t{description}")


@central_group.group("member")
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


@central_group.group("subsystem")
def subsystem_group() -> None:
    """Subsystems of members."""


@subsystem_group.command("add")
@DIR_ARG
@click.option("--subsystem", required=True, help="INSTANCE/CLASS/CODE/SUBSYSTEM")
@click.option("--name", default=None)
def subsystem_add(directory: Path, subsystem: str, name: str | None) -> None:
    _home(directory).registry().add_subsystem(_subsystem(subsystem), name)
    click.echo(f"subsystem {subsystem} added")


@central_group.group("gateway")
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


@central_group.group("group")
def group_group() -> None:
    """Global groups."""


@group_group.command("add")
@DIR_ARG
@click.option("--code", required=True)
@click.option("--description", default="")
def group_add(directory: Path, code: str, description: str) -> None:
    _home(directory).registry().add_global_group(code, description)
    click.echo(f"global group {code} added")


@group_group.command("add-member")
@DIR_ARG
@click.option("--code", required=True)
@click.option("--client", required=True)
def group_add_member(directory: Path, code: str, client: str) -> None:
    _home(directory).registry().add_group_member(code, _clients((client,))[0])
    click.echo(f"{client} added to {code}")


# -- trust services ---------------------------------------------------------------------


@central_group.group("ca")
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


@central_group.group("tsa")
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


@central_group.group("settings")
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


# -- registration requests and API keys ---------------------------------------------------


@central_group.group("registration")
def registration_group() -> None:
    """Gateway registration requests."""


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
    click.echo(f"request {request_id} approved: gateway {info.server} registered")


@registration_group.command("decline")
@DIR_ARG
@click.argument("request_id", type=int)
@click.option("--comment", default=None)
def registration_decline(directory: Path, request_id: int, comment: str | None) -> None:
    from federation.central.registry import decide

    decide(_home(directory).registry(), request_id, approve=False, by=f"cli:{os.environ.get('USER', 'operator')}", comment=comment)
    click.echo(f"request {request_id} declined")


@central_group.group("apikey")
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


# -- anchors, federation, signing keys ----------------------------------------------------


@central_group.command("anchor")
@DIR_ARG
@click.option("--internal", "kind", flag_value="internal", help="Anchor for this instance's gateways.")
@click.option("--external", "kind", flag_value="external", help="Anchor for federation partners.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def anchor_cmd(directory: Path, kind: str | None, out: Path) -> None:
    """Export this authority's anchor and print its SHA-224 fingerprint."""
    from trust.keys import write_atomic

    from federation.central.registry import build_anchor

    if kind is None:
        raise CliInputError("choose --internal or --external")
    data = build_anchor(_home(directory), internal=kind == "internal", now=utc_now())
    write_atomic(out, data)
    click.echo(f"{kind} anchor written to {out}")
    click.echo(f"SHA-224 fingerprint: {anchor_fingerprint(data)}")


@central_group.group("trust-anchor")
def trust_anchor_group() -> None:
    """Trusted anchors of federated instances."""


@trust_anchor_group.command("add")
@DIR_ARG
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def trust_anchor_add(directory: Path, file: Path) -> None:
    """Validate a partner's external anchor (downloads and verifies its configuration) and trust it."""
    from federation.central.registry import add_trusted_anchor

    fingerprint = add_trusted_anchor(_home(directory), _read(file, "anchor"), now=utc_now())
    click.echo(f"trusted anchor added; SHA-224 fingerprint: {fingerprint}")


@trust_anchor_group.command("list")
@DIR_ARG
def trust_anchor_list(directory: Path) -> None:
    for instance, raw, _, added in _home(directory).registry().trusted_anchors():
        click.echo(f"{instance}\t{anchor_fingerprint(raw)}\t{added.isoformat()}")


@trust_anchor_group.command("remove")
@DIR_ARG
@click.argument("instance")
def trust_anchor_remove(directory: Path, instance: str) -> None:
    _home(directory).registry().remove_trusted_anchor(instance)
    click.echo(f"trusted anchor of {instance} removed")


@central_group.group("key")
def key_group() -> None:
    """Configuration signing keys and their rotation."""


@key_group.command("create")
@DIR_ARG
@click.option("--kind", required=True, type=click.Choice(["internal", "external"]))
@click.option("--activate", is_flag=True, help="Sign with it at once (skips the announcement overlap: not recommended).")
def key_create(directory: Path, kind: str, activate: bool) -> None:
    """Create a new signing key; pending keys are announced in the configuration before they sign."""
    from federation.central.registry import create_signing_key

    home = _home(directory)
    key_id = create_signing_key(home.registry(), home.token(_pin()), kind, now=utc_now(), activate=activate)
    click.echo(key_id)


@key_group.command("activate")
@DIR_ARG
@click.argument("key_id")
def key_activate(directory: Path, key_id: str) -> None:
    _home(directory).registry().activate_signing_key(key_id)
    click.echo(f"{key_id} is now the active key; export a new anchor for gateways (`sild central anchor`)")


@key_group.command("remove")
@DIR_ARG
@click.argument("key_id")
def key_remove(directory: Path, key_id: str) -> None:
    _home(directory).registry().remove_signing_key(key_id)
    click.echo(f"{key_id} removed from the published sources")


@key_group.command("list")
@DIR_ARG
def key_list(directory: Path) -> None:
    for key_id, kind, status, _ in _home(directory).registry().signing_keys():
        click.echo(f"{key_id}\t{kind}\t{status}")

