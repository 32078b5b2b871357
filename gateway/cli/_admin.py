"""``sild gateway client|service|access|localgroup|log|apikey ...``: administration from the shell.

Every command takes the gateway directory first (as ``sild gateway init`` made it) and
works on ``DIR/serverconf.db`` (and ``DIR/messagelog.db`` for ``log``); the admin API
does the same over HTTPS. Errors are one line (``sild: error: ... [code]``, exit 1).

    sild gateway client add DIR EE/GOV/70000001/tax [--is-auth https] [--allow 10.0.0.0/8] [--registered]
    sild gateway service add DIR EE/GOV/70000001/tax --wsdl URL | --rest URL --code C | --openapi URL --code C
    sild gateway service enable DIR EE/GOV/70000001/tax/getPerson
    sild gateway access grant DIR EE/GOV/70000001/tax/getPerson EE/COM/20000002/app [--method GET --path /x/{id}]
    sild gateway localgroup add DIR EE/GOV/70000001/tax clerks; localgroup add-member DIR ... clerks EE/COM/2/app
    sild gateway log export DIR --query-id ID --out FILE.asice [--direction response]
    sild gateway log archive DIR; sild gateway log verify-archives DIR
    sild gateway apikey create DIR --role admin
    sild gateway api DIR /api/v1/diagnostics [-X POST -d JSON] [--key-file F]   (the running node, over HTTPS)

Each group lives in its own module (``_clients``, ``_services``, ``_access``, ``_log``,
``_apikeys``) over the directory helpers of ``_directory``; this module gathers them
for :mod:`gateway.cli._gateway`, which adds every name of :data:`__all__` to
``sild gateway``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from gateway.admin.ui import user_group  # the admin UI's accounts (sild gateway user ...)

from ._access import access_group, localgroup_group
from ._apikeys import apikey_group
from ._backup import backup, restore
from ._clients import address_command, client_group, owner_group
from ._keys import cert_group, key_group, token_group
from ._log import log_group
from ._services import service_group

API_KEY_ENV = "SILD_ADMIN_API_KEY"
SANDBOX_KEY_FILE = "admin-api-key"  # where the sandbox keeps a gateway's key (a real gateway stores none)


@click.command("api")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("path")
@click.option("-X", "--method", default="GET", show_default=True,
              type=click.Choice(["GET", "POST", "PATCH", "PUT", "DELETE"], case_sensitive=False))
@click.option("-d", "--data", default=None, help="JSON body of the request.")
@click.option("--key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help=f"File holding the API key [default: ${API_KEY_ENV}, else DIR/{SANDBOX_KEY_FILE}].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the answer's body here (an ASiC-E export) instead of printing it.")
def api_command(directory: Path, path: str, method: str, data: str | None, key_file: Path | None,
                out: Path | None) -> None:
    """Call the running gateway's admin API, e.g. `sild gateway api DIR /api/v1/diagnostics`.

    The URL and the certificate to trust come from DIR (``admin_port``, ``admin_listen``,
    ``DIR/admin-tls/admin.crt``): the connection is verified against the gateway's own
    certificate, never against the system's CAs, and the key never crosses in clear text.
    """
    try:
        body = json.loads(data) if data is not None else None
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    answer = call_admin_api(directory, method, path, body, key_file)
    if out is not None:
        out.write_bytes(answer.content)
        click.echo(f"wrote {len(answer.content)} bytes to {out}")
    elif answer.headers.get("content-type", "").startswith("application/json") and answer.content:
        click.echo(json.dumps(answer.json(), indent=2))
    else:
        click.echo(answer.text, nl=False)


def call_admin_api(directory: Path, method: str, path: str, body: object = None,
                   key_file: Path | None = None) -> Any:
    """One call to the running node's admin API of DIR; an error answer is a one-line :class:`SetupError`.

    The URL and the certificate to trust come from DIR (``admin_port``, ``admin_listen``,
    ``DIR/admin-tls/admin.crt``); commands that act on the running node (``token
    logout``) call it too.
    """
    import httpx

    from gateway.admin import admin_client_context, admin_url
    from gateway.settings import SetupError

    secret = _api_key(directory, key_file)
    url = admin_url(directory) + (path if path.startswith("/") else "/" + path)
    try:
        answer = httpx.request(method.upper(), url, json=body, headers={"Authorization": f"Bearer {secret}"},
                               verify=admin_client_context(directory), timeout=60, trust_env=False)
    except httpx.HTTPError as exc:
        raise SetupError(f"cannot reach the admin API at {url}: {exc} (is `sild gateway serve {directory}` running?)",
                         code="gateway.admin.unreachable") from None
    if answer.status_code >= 400:
        try:
            error = answer.json()
            code, message = str(error.get("code")), str(error.get("message"))
        except ValueError:
            code, message = f"gateway.admin.http_{answer.status_code}", answer.text[:200]
        raise SetupError(f"{method.upper()} {path}: HTTP {answer.status_code}: {message}", code=code)
    return answer


def _api_key(directory: Path, key_file: Path | None) -> str:
    """The key from ``--key-file``, ``$SILD_ADMIN_API_KEY`` or the sandbox's ``DIR/admin-api-key``."""
    from gateway.settings import SetupError

    if key_file is None and os.environ.get(API_KEY_ENV):
        return os.environ[API_KEY_ENV].strip()
    path = key_file or directory / SANDBOX_KEY_FILE
    try:
        return path.read_text("utf-8").strip()
    except OSError:
        raise SetupError(f"no admin API key: give --key-file or set ${API_KEY_ENV} "
                         f"(.venv/bin/sild gateway apikey create {directory} --role viewer)") from None


__all__ = ["access_group", "address_command", "api_command", "apikey_group", "backup", "cert_group", "client_group",
           "key_group", "localgroup_group", "log_group", "owner_group", "restore", "service_group", "token_group",
           "user_group"]
