"""``sild central user add|list|remove|passwd DIR``: the accounts of the authority's admin web UI.

The first account cannot be made in the UI (no one could sign in to make it), so the
operator who holds the authority's directory makes it here; the rules (names, roles,
argon2id hashes, a password's length) are :mod:`trust.accounts`' and the same as the
gateway's. A password is asked twice without echo, or read as one line from standard
input with ``--password-stdin`` (scripts, tests): never from the command line, where
it would land in the shell's history and the process list. These commands are
recorded in the audit log like every other state-changing ``sild central`` command,
with the password redacted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trust.accounts import ROLE_NAMES, ROLES, Accounts

from ._cli_input import DIR_ARG, _home

ROLE_HELP = "; ".join(f"{r.name}: {r.duties}" for r in ROLES)


def accounts_of(directory: Path) -> Accounts:
    """The UI accounts kept in the registry of the authority at ``directory``."""
    from federation.central.registry import ACCOUNT_TABLES

    return Accounts(_home(directory).registry().engine, ACCOUNT_TABLES)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("user")
def user_group() -> None:
    """Accounts of the admin web UI (served with the management API)."""


@user_group.command("add")
@DIR_ARG
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_NAMES),
              help=f"A role of the account (repeat for more). {ROLE_HELP}.")
@click.option("--password-stdin", is_flag=True, help="Read the password as one line from standard input.")
def user_add(directory: Path, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Make an account; it signs in at the management port's /ui/."""
    user = accounts_of(directory).add_user(name, _password(password_stdin), roles)
    click.echo(f"user {user.name} added with the roles {', '.join(user.roles)}")


@user_group.command("list")
@DIR_ARG
def user_list(directory: Path) -> None:
    """Every account: name, roles, enabled or disabled, last login."""
    for user in accounts_of(directory).users():
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        click.echo(f"{user.name}\t{','.join(user.roles)}\t{'enabled' if user.enabled else 'disabled'}\t"
                   f"last login {last}")


@user_group.command("remove")
@DIR_ARG
@click.argument("name")
def user_remove(directory: Path, name: str) -> None:
    """Delete an account and end its sessions."""
    accounts_of(directory).remove_user(name)
    click.echo(f"user {name} removed")


@user_group.command("passwd")
@DIR_ARG
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password as one line from standard input.")
def user_passwd(directory: Path, name: str, password_stdin: bool) -> None:
    """Set an account's password; its open sessions end."""
    accounts_of(directory).set_password(name, _password(password_stdin))
    click.echo(f"password of {name} changed; its sessions have ended")
