"""A gateway directory as the ``sild gateway`` admin commands open it, and what they share.

Every admin command group (``client``, ``service``, ``access``, ``localgroup``,
``log``, ``apikey``) takes the gateway directory first, as ``sild gateway init`` made
it, and works on the databases its ``gateway.json`` names (``DIR/serverconf.db`` and
``DIR/messagelog.db`` by default). Opening them, parsing identifiers into one-line
errors, and printing text or ``--json`` are here once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from trust.errors import IdentifierError
from trust.protocol import ClientId, ServiceId, parse_service

from gateway.db import open_engine
from gateway.serverconf import InvalidInput, ServerConf, parse_client_text

if TYPE_CHECKING:
    from trust.infra import AuditLog

    from gateway.messagelog import MessageLog

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _databases(directory: Path) -> tuple[str | Path, str | Path]:
    """(server configuration, message log) of a gateway directory, where its gateway.json puts them."""
    from gateway.settings import SETTINGS_FILE, NodeSettings

    if (directory / SETTINGS_FILE).is_file():
        settings = NodeSettings.load(directory)
        return settings.serverconf_database(directory), settings.messagelog_database(directory)
    return directory / "serverconf.db", directory / "messagelog.db"


def open_conf(directory: Path) -> ServerConf:
    if not directory.is_dir():
        from gateway.sandbox import sild_hint

        raise InvalidInput(f"{directory} is not a gateway directory (run `{sild_hint('gateway', 'init')}` first)")
    return ServerConf(open_engine(_databases(directory)[0]), refresh_interval=0)


def open_audit(directory: Path) -> "AuditLog | None":
    """The audit log of a gateway directory (in its server-configuration database); None if it is not one."""
    from trust.infra import AuditLog

    from gateway.db import AuditRecord
    from gateway.settings import SETTINGS_FILE

    if not (directory / SETTINGS_FILE).is_file():
        return None
    return AuditLog(open_engine(_databases(directory)[0]), AuditRecord.__table__)


def open_message_log(directory: Path) -> "MessageLog":
    from gateway.messagelog import MessageLog

    location = _databases(directory)[1]
    if isinstance(location, Path) and not location.is_file():
        raise InvalidInput(f"{directory} has no message log ({location.name})")
    return MessageLog(open_engine(location), config=_no_group_commit())


def client_arg(text: str) -> ClientId:
    return parse_client_text(text)


def service_arg(text: str) -> ServiceId:
    try:
        return parse_service(text)
    except IdentifierError as exc:
        raise InvalidInput(str(exc)) from exc


def echo_out(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


def _no_group_commit() -> Any:
    from gateway.messagelog import MessageLogConfig

    return MessageLogConfig(group_commit=False)
