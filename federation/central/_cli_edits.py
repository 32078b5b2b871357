"""``sild central ...`` commands that take something away from the registry or rename it.

``member rename``, ``subsystem remove``, ``group remove``/``remove-member`` and ``tsa
remove`` join the groups of :mod:`._cli_registry` (which adds things); each is one
registry transaction and prints one line. ``subsystem remove`` is refused while a
gateway serves the subsystem or a global group holds it, with the names of those
users in the message: the operator decides, and ``--force`` removes them with it.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._cli_input import DIR_ARG, _client, _home, _member, _subsystem
from ._cli_registry import group_group, member_group, subsystem_group, tsa_group


@member_group.command("rename")
@DIR_ARG
@click.option("--member", required=True, help="INSTANCE/CLASS/CODE")
@click.option("--name", required=True, help="The member's new name (its code does not change).")
def member_rename(directory: Path, member: str, name: str) -> None:
    """Change a member's name."""
    _home(directory).registry().rename_member(_member(member), name)
    click.echo(f"member {member} renamed to {name.strip()!r}")


@subsystem_group.command("remove")
@DIR_ARG
@click.option("--subsystem", required=True, help="INSTANCE/CLASS/CODE/SUBSYSTEM")
@click.option("--force", is_flag=True,
              help="Also remove it from the gateways that serve it and from global groups (refused otherwise).")
def subsystem_remove(directory: Path, subsystem: str, force: bool) -> None:
    """Remove a subsystem (refused while a gateway serves it, unless --force)."""
    _home(directory).registry().remove_subsystem(_subsystem(subsystem), force=force)
    click.echo(f"subsystem {subsystem} removed")


@group_group.command("remove")
@DIR_ARG
@click.option("--code", required=True)
def group_remove(directory: Path, code: str) -> None:
    """Remove a global group with its memberships (built-in groups are refused)."""
    _home(directory).registry().remove_global_group(code)
    click.echo(f"global group {code} removed")


@group_group.command("remove-member")
@DIR_ARG
@click.option("--code", required=True)
@click.option("--client", required=True, help="Member or subsystem id in the group.")
def group_remove_member(directory: Path, code: str, client: str) -> None:
    """Remove a member or subsystem from a global group."""
    _home(directory).registry().remove_group_member(code, _client(client))
    click.echo(f"{client} removed from {code}")


@tsa_group.command("remove")
@DIR_ARG
@click.option("--name", required=True)
def tsa_remove(directory: Path, name: str) -> None:
    """Remove an approved timestamping authority."""
    _home(directory).registry().remove_tsa(name)
    click.echo(f"TSA {name} removed")


__all__ = ["group_remove", "group_remove_member", "member_rename", "subsystem_remove", "tsa_remove"]
