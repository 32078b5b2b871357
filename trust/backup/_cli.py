"""``sild gateway backup|restore`` and ``sild central backup|restore``: one pair of commands, two roles.

Both roles' commands take the same arguments and say the same things, so they are
made here from the role's :class:`NodeKind` and added to each role's command group.
A passphrase never appears on the command line (``ps`` and shell histories show it):
it comes from the environment variable that ``--passphrase-env`` names, or from a
hidden prompt (``--encrypt`` when backing up; asked by itself when an encrypted
backup is restored at a terminal).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._backup import write_backup
from ._crypto import archive_is_encrypted, passphrase_from_env
from ._manifest import NodeKind
from ._restore import DRILL_MARKER, Restored, restore_backup

_PASSPHRASE_ENV = click.option("--passphrase-env", "passphrase_env", metavar="VAR", default=None,
                               help="Environment variable that holds the passphrase (never the passphrase itself).")


def backup_command(kind: NodeKind) -> click.Command:
    """``backup DIR --out FILE [--passphrase-env VAR | --encrypt]`` for ``kind``'s nodes."""

    @click.command("backup")
    @click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Archive file to write (outside the node directory).")
    @_PASSPHRASE_ENV
    @click.option("--encrypt", is_flag=True, help="Encrypt with a passphrase asked at a hidden prompt.")
    def command(directory: Path, out: Path, passphrase_env: str | None, encrypt: bool) -> None:
        passphrase = None
        if passphrase_env:
            passphrase = passphrase_from_env(passphrase_env)
        elif encrypt:
            passphrase = click.prompt("Passphrase", hide_input=True, confirmation_prompt=True)
        manifest = write_backup(directory, out, kind, passphrase=passphrase)
        databases = sum(1 for f in manifest.files if f.kind == "sqlite") + len(manifest.databases)
        click.echo(f"wrote {out}: {kind.name} {manifest.identity}, {len(manifest.files)} files "
                   f"({databases} database{'' if databases == 1 else 's'}), {'encrypted' if passphrase else 'not encrypted'}, "
                   f"{out.stat().st_size} bytes")

    command.help = (f"Back up a running or stopped {kind.name} into one archive file: a consistent snapshot of "
                    f"its databases, settings, keys and certificates.")
    return command


def _report_drill(kind: NodeKind, directory: Path, restored: Restored) -> None:
    manifest = restored.manifest
    databases = sum(1 for f in manifest.files if f.kind == "sqlite")
    click.echo(f"restore drill: {kind.name} {manifest.identity} (backup of "
               f"{manifest.created_at.isoformat(timespec='seconds')}) restored into {directory}: "
               f"{len(manifest.files)} files, {databases} SQLite database{'' if databases == 1 else 's'} checked")
    for line in restored.holds:
        click.echo(f"  {line}")
    if manifest.databases:
        click.echo(f"  {len(manifest.databases)} PostgreSQL dump(s) checked, not loaded (the settings name the "
                   f"live node's databases)")
    click.echo(f"`serve` refuses this copy; to make it a real {kind.name}, stop the original and remove "
               f"{directory / DRILL_MARKER}")


def restore_command(kind: NodeKind) -> click.Command:
    """``restore DIR FILE [--force | --drill] [--passphrase-env VAR]`` for ``kind``'s nodes."""

    @click.command("restore")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @_PASSPHRASE_ENV
    @click.option("--force", is_flag=True, help=f"Restore over another {kind.name} (another identity).")
    @click.option("--drill", is_flag=True,
                  help=f"Restore a checked copy into a new or empty DIR while the {kind.name} keeps running; "
                       f"`serve` refuses the copy.")
    def command(directory: Path, file: Path, passphrase_env: str | None, force: bool, drill: bool) -> None:
        passphrase = None
        if passphrase_env:
            passphrase = passphrase_from_env(passphrase_env)
        elif archive_is_encrypted(file) and sys.stdin.isatty():
            passphrase = click.prompt("Passphrase", hide_input=True)
        restored = restore_backup(file, directory, kind, passphrase=passphrase, force=force, drill=drill)
        manifest = restored.manifest
        if drill:
            _report_drill(kind, directory, restored)
            return
        click.echo(f"restored {kind.name} {manifest.identity} into {directory} "
                   f"(backup of {manifest.created_at.isoformat(timespec='seconds')}); start it with "
                   f"`.venv/bin/sild {kind.role} serve {directory}`")
        if restored.replaced is not None:
            click.echo(f"the replaced directory is kept as {restored.replaced}: it holds what happened since the "
                       f"backup (the message log, the registry); archive or remove it")

    command.help = (f"Restore a {kind.name} from a backup file; the {kind.name} must be stopped. Checked in full "
                    f"before the directory is replaced at once.")
    return command
