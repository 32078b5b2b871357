"""``sild central ...``: run and administer a governing authority from the shell.

Every command takes the authority directory ``DIR`` first. Commands that change the
registry commit one transaction; a running ``sild central serve DIR`` notices the
change (registry change counter) within its check interval and republishes. Without
a running node, ``sild central generate DIR`` publishes.

The token PIN is read from ``SILD_TOKEN_PIN``; unset, the development PIN
``sild-dev-pin`` is used (with a warning). Errors are one line (``sild: error: ...``).

This module holds the group and the commands that run the authority (init, serve,
generate, status, anchors, signing keys); the commands that edit the registry's
content live in :mod:`._cli_registry`, the input readers in :mod:`._cli_input`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from federation.anchor import anchor_fingerprint
from trust.infra import AuditLog, audit_command, audit_commands, utc_now

from trust.backup import backup_command, refuse_drill_copy, restore_command

from ._backup import CENTRAL_BACKUP
from ._cli_input import DIR_ARG, CliInputError, _home, _pin, _read
from ._cli_registry import (
    member_class_group, member_group, subsystem_group, gateway_group, group_group, ca_group, tsa_group, settings_group, registration_group, apikey_group,
)
from ._cli_registry import monitoring_client_group
from ._cli_users import user_group
from . import _cli_edits  # noqa: F401 - adds the removal and rename commands to those groups


@click.group("central")
def central_group() -> None:
    """Governing authority: registry, configuration generation and distribution, federation."""


central_group.add_command(member_class_group)
central_group.add_command(member_group)
central_group.add_command(subsystem_group)
central_group.add_command(gateway_group)
central_group.add_command(group_group)
central_group.add_command(ca_group)
central_group.add_command(tsa_group)
central_group.add_command(settings_group)
central_group.add_command(registration_group)
central_group.add_command(apikey_group)
central_group.add_command(monitoring_client_group)
central_group.add_command(user_group)
central_group.add_command(backup_command(CENTRAL_BACKUP))
central_group.add_command(restore_command(CENTRAL_BACKUP))


@central_group.command("init")
@DIR_ARG
@click.option("--instance", required=True, help="Instance identifier, e.g. EE.")
@click.option("--url", required=True, help="Public base URL of this authority, e.g. https://cs.example.ee")
@click.option("--member-class", "member_classes", multiple=True, metavar="CODE[=DESCRIPTION]",
              help="Member classes to create (default GOV and COM).")
@click.option("--database-url", default=None, help="PostgreSQL URL instead of DIR/registry.db.")
@click.option("--pkcs11-library", default=None, help="PKCS#11 module holding the signing keys instead of DIR/token.")
@click.option("--pkcs11-label", default=None, help="Label of the token in --pkcs11-library.")
def init_cmd(directory: Path, instance: str, url: str, member_classes: tuple[str, ...], database_url: str | None,
             pkcs11_library: str | None, pkcs11_label: str | None) -> None:
    """Create an authority: registry, internal and external signing keys, first configuration."""
    from federation.central.registry import DEFAULT_MEMBER_CLASSES, init_central

    classes = [tuple(c.split("=", 1)) if "=" in c else (c, c) for c in member_classes] or list(DEFAULT_MEMBER_CLASSES)
    result = init_central(str(directory), instance=instance, url=url, pin=_pin(), now=utc_now(),
                          member_classes=classes, database_url=database_url,  # type: ignore[arg-type]
                          pkcs11=_pkcs11(pkcs11_library, pkcs11_label))
    click.echo(f"authority {instance} created in {directory}; configuration published (expires {result.expires_at.isoformat()})")


def _pkcs11(library: str | None, label: str | None) -> tuple[str, str] | None:
    if (library is None) != (label is None):
        raise CliInputError("give --pkcs11-library and --pkcs11-label together")
    return None if library is None or label is None else (library, label)


@central_group.command("node-init")
@DIR_ARG
@click.option("--url", required=True, help="Public base URL of this node, e.g. https://cs2.example.ee")
@click.option("--database-url", required=True, help="The PostgreSQL URL of the registry the first node uses.")
@click.option("--token-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The token directory the first node signs with, reachable from this node (shared storage).")
@click.option("--pkcs11-library", default=None, help="Or: the PKCS#11 module of the token the first node signs with.")
@click.option("--pkcs11-label", default=None, help="Label of that token.")
def node_init_cmd(directory: Path, url: str, database_url: str, token_dir: Path | None, pkcs11_library: str | None,
                  pkcs11_label: str | None) -> None:
    """Make DIR one more node of an authority on PostgreSQL: same registry and signing keys, a URL of its own."""
    from federation.central.registry import init_node

    instance = init_node(str(directory), url=url, database_url=database_url, token_dir=token_dir,
                         pkcs11=_pkcs11(pkcs11_library, pkcs11_label))
    click.echo(f"node of authority {instance} created in {directory}; {url} is now listed as a configuration source")
    click.echo(f"start it with: .venv/bin/sild central serve {directory}")


@central_group.command("serve")
@DIR_ARG
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--check-interval", default=5.0, show_default=True, type=float,
              help="Seconds between checks whether the configuration must be regenerated.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--api-port", type=click.IntRange(0, 65535), default=None,
              help="Serve the management API on this port of its own, over HTTPS (certificate made in DIR/api-tls/); "
                   "the main port then serves only distribution and registration requests.")
@click.option("--api-host", default="127.0.0.1", show_default=True, help="Address the management port listens on.")
@click.option("--api-tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Your certificate for the management port (PEM) instead of the generated one.")
@click.option("--api-tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
def serve_cmd(directory: Path, host: str, port: int, check_interval: float, tls_cert: Path | None, tls_key: Path | None,
              api_port: int | None, api_host: str, api_tls_cert: Path | None, api_tls_key: Path | None) -> None:
    """Serve distribution and the management API; regenerate on changes and before expiry."""
    import logging

    from ._node import NodeConfig, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    refuse_drill_copy(directory, CENTRAL_BACKUP)  # a drill's copy has the live authority's identity and keys
    _home(directory).close()  # refuse a non-authority directory before binding
    try:
        config = NodeConfig(directory=directory, host=host, port=port, pin=_pin(), check_interval=check_interval,
                            tls_cert=tls_cert, tls_key=tls_key, api_host=api_host, api_port=api_port,
                            api_tls_cert=api_tls_cert, api_tls_key=api_tls_key)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    run(config, announce=click.echo)


@central_group.command("generate")
@DIR_ARG
@click.option("--force", is_flag=True, help="Regenerate even if nothing changed.")
def generate_cmd(directory: Path, force: bool) -> None:
    """Regenerate and publish the configuration now (if needed, or with --force)."""
    from trust.infra import Lease

    from ._generator import GENERATION_LEASE, generate

    home = _home(directory)
    lease = Lease(home.registry().engine, GENERATION_LEASE)
    try:
        if not lease.acquire():
            raise CliInputError(f"another authority node ({lease.holder() or 'unknown'}) generates the configuration; "
                                "it publishes registry changes within its check interval")
        result = generate(home, home.token(_pin()), now=utc_now(), force=force)
    finally:
        lease.close()
    state = "published" if result.regenerated else "up to date"
    click.echo(f"{state}: serial {result.serial}, generation {result.folder}, expires {result.expires_at.isoformat()}")


@central_group.command("status")
@DIR_ARG
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (what GET /api/v1/diagnostics answers).")
def status_cmd(directory: Path, as_json: bool) -> None:
    """Health, the published generation and its expiry, signing keys, waiting requests, trusted anchors."""
    from ._status import central_status, central_status_lines

    report = central_status(_home(directory), utc_now())
    click.echo(json.dumps(report, indent=2) if as_json else "\n".join(central_status_lines(report)))


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


def _open_audit(directory: Path) -> "AuditLog | None":
    """The audit log in an authority directory's registry; None if ``directory`` is not one."""
    from federation.central.registry import AuditRow

    if not (directory / "central.json").is_file():
        return None
    return AuditLog(_home(directory).registry().engine, AuditRow.__table__)


central_group.add_command(audit_command(_open_audit, "an authority directory"))
audit_commands(central_group, _open_audit)  # every state-changing command is recorded in the registry's audit log
