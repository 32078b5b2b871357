"""``sild gateway user add|list|remove|passwd DIR``: the admin UI's accounts, from the command line.

The first user can only be made here (the UI has no account yet to make it with);
the commands work on the gateway directory's server-configuration database, where
the UI keeps its accounts (:mod:`trust.accounts`), running or not. Passwords are
asked twice on the terminal, never taken as an argument (an argument is seen by
every process listing); ``--password-stdin`` (one line of standard input, as
``sild central user`` reads it) and ``--password-file`` serve automation. The
``sild gateway`` group records each command that changes state in the audit log,
the password redacted.
"""

from __future__ import annotations

from pathlib import Path

import sys

import click

from trust.accounts import ROLE_NAMES, Accounts

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


def open_accounts(directory: Path) -> Accounts:
    """The account store of a gateway directory; a one-line error if ``directory`` is not one."""
    from gateway.db import UI_ACCOUNTS, open_engine
    from gateway.settings import SETTINGS_FILE, NodeSettings, SetupError

    if not (directory / SETTINGS_FILE).is_file():
        raise SetupError(f"{directory} is not a gateway directory (no {SETTINGS_FILE})")
    settings = NodeSettings.load(directory)
    return Accounts(open_engine(settings.serverconf_database(directory)), UI_ACCOUNTS)


def _password(password_file: Path | None, from_stdin: bool = False) -> str:
    if password_file is not None:
        return password_file.read_text("utf-8").splitlines()[0] if password_file.stat().st_size else ""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("user")
def user_group() -> None:
    """Accounts of the admin web UI (https://ADMIN_ADDRESS/ui/)."""


PASSWORD_FILE = click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                             help="Read the password from this file (its first line) instead of asking.")
PASSWORD_STDIN = click.option("--password-stdin", is_flag=True,
                              help="Read the password as one line from standard input instead of asking.")


@user_group.command("add")
@DIRECTORY
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_NAMES),
              help="X-Road's roles; repeat for several.")
@PASSWORD_FILE
@PASSWORD_STDIN
def user_add(directory: Path, name: str, roles: tuple[str, ...], password_file: Path | None,
             password_stdin: bool) -> None:
    """Add a user who may sign in to the admin UI with the given roles."""
    accounts = open_accounts(directory)
    user = accounts.add_user(name, _password(password_file, password_stdin), roles)
    click.echo(f"user {user.name} added ({', '.join(user.roles)})")


@user_group.command("list")
@DIRECTORY
def user_list(directory: Path) -> None:
    """The admin UI's users, their roles and last login."""
    for user in open_accounts(directory).users():
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        state = "" if user.enabled else " (disabled)"
        click.echo(f"{user.name:20} {','.join(user.roles):45} last login {last}{state}")


@user_group.command("remove")
@DIRECTORY
@click.argument("name")
def user_remove(directory: Path, name: str) -> None:
    """Remove a user; their sessions end at once."""
    open_accounts(directory).remove_user(name)
    click.echo(f"user {name} removed")


@user_group.command("passwd")
@DIRECTORY
@click.argument("name")
@PASSWORD_FILE
@PASSWORD_STDIN
def user_passwd(directory: Path, name: str, password_file: Path | None, password_stdin: bool) -> None:
    """Set a user's password; their open sessions end."""
    accounts = open_accounts(directory)
    accounts.user(name)  # an unknown user is refused before the password is asked
    accounts.set_password(name, _password(password_file, password_stdin))
    click.echo(f"password of {name} changed; their sessions have ended")
