"""The audit log on the command line: every state-changing command recorded, one reader command.

A role's command group is handed once to :func:`audit_commands`, which wraps each
command that changes state (every command but those named in :data:`READ_ONLY`), so
no command records itself and a new command is recorded without anyone remembering
to. While the command runs it is the action under way: a write of the role's
database records it in the same transaction (OS user, ``cli HOST TTY``, command
path, parameters redacted, ``ok``). A command that wrote no row there (files, a
backup) or that failed is appended once it ends, with ``ok`` or the error's code. A command that fails
before the directory exists (``init`` of a bad path) leaves nothing to write into,
and the wrapper creates no database for it.

:func:`audit_command` builds ``sild gateway audit`` / ``sild central audit``: the
newest entries (``--since``, ``--limit``, ``--json``) or ``--verify`` of the hash chain.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import os
import socket
from pathlib import Path
from typing import Any, Callable

import click

from ._audit import AuditEntry, AuditLog, begin_action, end_action, entry_json, entry_line, parse_since
from ._clock import utc_now

# leaf command names that only read (or serve, or call the API, which records its own calls: api, logout)
READ_ONLY = frozenset({"list", "show", "status", "audit", "serve", "worker", "api", "export", "verify-archives",
                       "anchor", "opmonitoring", "logout"})

OpenLog = Callable[[Path], "AuditLog | None"]


def cli_actor() -> tuple[str, str]:
    """(the OS user, ``cli HOST TTY``) of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    try:
        tty = os.ttyname(0)
    except OSError:
        tty = "-"
    return user, f"cli {socket.gethostname()} {tty}"


def _operation(ctx: click.Context) -> str:
    names = []
    while ctx.parent is not None:  # the root (``sild``) is left out: its name depends on how it was called
        names.append(ctx.info_name or ctx.command.name or "?")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, click.exceptions.Exit):
        return "ok" if exc.exit_code == 0 else f"exit {exc.exit_code}"
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    if isinstance(exc, click.ClickException):
        return "cli.usage"
    return f"error {type(exc).__name__}"


def record(open_log: OpenLog, directory: Path, entry: AuditEntry) -> None:
    """Append ``entry`` to the log of ``directory``; a log that cannot be written is a warning, not a second failure."""
    try:
        log = open_log(directory)
        if log is None:
            return
        try:
            log.append(entry)
        finally:
            log.close()
    except Exception as exc:  # noqa: BLE001 - the command already ran; its own outcome must stand
        click.echo(f"sild: warning: the audit log of {directory} was not written: {exc}", err=True)


def _recorded(callback: Callable[..., Any], open_log: OpenLog) -> Callable[..., Any]:
    @functools.wraps(callback)
    def inner(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        directory = kwargs.get("directory")
        actor, source = cli_actor()
        params = {k: v for k, v in kwargs.items() if k != "directory"}

        def entry(outcome: str) -> AuditEntry:
            return AuditEntry(utc_now(), "cli", actor, source, _operation(ctx), params, outcome)

        # a database write of the command records it in its own transaction (the role's write path)
        action, token = begin_action(lambda: entry("ok"))
        failure: BaseException | None = None
        try:
            return callback(*args, **kwargs)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            end_action(token)
            outcome = _outcome(failure)
            if isinstance(directory, (str, Path)) and not (action.written and outcome == "ok"):
                record(open_log, Path(directory), entry(outcome))

    return inner


def audit_commands(group: click.Group, open_log: OpenLog, read_only: frozenset[str] = READ_ONLY) -> None:
    """Record every state-changing command of ``group`` (recursively) in the audit log of its directory."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            audit_commands(command, open_log, read_only)
        elif name not in read_only and command.callback is not None and not getattr(command, "_sild_audited", False):
            command.callback = _recorded(command.callback, open_log)
            command._sild_audited = True  # type: ignore[attr-defined]


def _since(text: str | None) -> dt.datetime | None:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def audit_command(open_log: OpenLog, what: str) -> click.Command:
    """The ``audit DIR`` command of a role (``what`` names its directory in the help)."""

    @click.command("audit")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--since", help="Only entries at or after this time (ISO 8601; UTC unless a zone is given).")
    @click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
                  help="At most this many entries, newest first.")
    @click.option("--before", type=click.IntRange(1), default=None, help="Only entries with an id below this (paging).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.option("--verify", is_flag=True, help="Check the hash chain over every entry instead of listing.")
    def command(directory: Path, since: str | None, limit: int, before: int | None, as_json: bool,
                verify: bool) -> None:
        log = open_log(directory) if directory.is_dir() else None
        if log is None:
            raise click.ClickException(f"{directory} is not {what}")
        try:
            if verify:
                check = log.verify()
                if as_json:
                    click.echo(json.dumps({"entries": check.count, "intact": check.intact, "broken_at": check.broken_at,
                                           "reason": check.reason}))
                if not check.intact:
                    raise click.ClickException(f"audit log: entry {check.broken_at} {check.reason} "
                                               f"({check.count} entries before it verify)")
                if not as_json:
                    click.echo(f"audit log: {check.count} entries, hash chain intact")
                return
            rows = log.entries(since=_since(since), before=before, limit=limit)
        finally:
            log.close()
        if as_json:
            click.echo(json.dumps([entry_json(r) for r in rows], indent=2))
        else:
            for row in rows:
                click.echo(entry_line(row))

    command.help = (f"Administrative actions recorded on {what}, newest first (who, what, when, from where, outcome); "
                    "--verify checks that no entry was changed or removed from the middle.")
    return command
