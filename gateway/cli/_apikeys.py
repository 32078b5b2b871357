"""Command group ``sild gateway apikey``: keys for the admin API (the secret is printed once).
"""

from __future__ import annotations

from pathlib import Path

import click

from ._directory import DIRECTORY, open_conf


@click.group("apikey")
def apikey_group() -> None:
    """Keys for the admin API."""


@apikey_group.command("create")
@DIRECTORY
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "service-admin", "auditor", "viewer", "tracker"]))
@click.option("--label", default="")
def apikey_create(directory: Path, roles: tuple[str, ...], label: str) -> None:
    """Create a key; the secret is printed once and never stored."""
    from gateway.serverconf import create_api_key

    key_id, secret = create_api_key(open_conf(directory), roles, label)
    click.echo(f"key {key_id} ({', '.join(sorted(roles))}): {secret}")


@apikey_group.command("revoke")
@DIRECTORY
@click.argument("key_id", type=int)
def apikey_revoke(directory: Path, key_id: int) -> None:
    from gateway.serverconf import revoke_api_key

    revoke_api_key(open_conf(directory), key_id)
    click.echo(f"revoked key {key_id}")


@apikey_group.command("list")
@DIRECTORY
def apikey_list(directory: Path) -> None:
    from gateway.serverconf import list_api_keys

    for k in list_api_keys(open_conf(directory)):
        click.echo(f"{k.id:4} {','.join(sorted(k.roles)):30} {'revoked' if k.revoked else 'active '} {k.label}")
