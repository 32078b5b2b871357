"""Reading the operator's input for ``sild central ...``: directory, PIN, identifiers, files.

Every command of :mod:`._cli` and :mod:`._cli_registry` turns shell text into
identifiers and files the same way, and reports a bad value as one
:class:`CliInputError` (printed as ``sild: error: ...``); keeping those readers
in one module keeps the messages and the PIN fallback identical across commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from trust.errors import IdentifierError
from trust.protocol import MemberId, SecurityServerId, SubsystemId, parse_client, parse_server

from federation.errors import FederationError
from trust.keys import pin_from_environment

from federation.central.registry import CentralDir

DIR_ARG = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


class CliInputError(FederationError):
    code = "federation.cli.invalid_input"


def _pin() -> str:
    return pin_from_environment(warn=lambda message: click.echo(f"sild: warning: {message}", err=True))


def _home(directory: Path) -> CentralDir:
    return CentralDir(directory)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _client(text: str) -> MemberId | SubsystemId:
    try:
        return parse_client(text)
    except IdentifierError as exc:
        raise CliInputError(str(exc)) from exc


def _member(text: str) -> MemberId:
    client = _client(text)
    if not isinstance(client, MemberId):
        raise CliInputError(f"{text!r} is not a member id (INSTANCE/CLASS/CODE)")
    return client


def _subsystem(text: str) -> SubsystemId:
    client = _client(text)
    if not isinstance(client, SubsystemId):
        raise CliInputError(f"{text!r} is not a subsystem id (INSTANCE/CLASS/CODE/SUBSYSTEM)")
    return client


def _server(text: str) -> SecurityServerId:
    try:
        return parse_server(text)
    except IdentifierError as exc:
        raise CliInputError(str(exc)) from exc


def _clients(texts: tuple[str, ...]) -> list[MemberId | SubsystemId]:
    return [_client(text) for text in texts]
