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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
from pathlib import Path
from typing import Any

import click

from trust.errors import IdentifierError
from trust.protocol import ClientId, ServiceId, parse_service

from gateway.serverconf import ServerConf
from gateway.serverconf import open_engine
from gateway.serverconf import InvalidInput, parse_client_text, parse_subject

if TYPE_CHECKING:
    from gateway.messagelog import MessageLog

_DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


def _databases(directory: Path) -> tuple[str | Path, str | Path]:
    """(server configuration, message log) of a gateway directory, where its gateway.json puts them."""
    from gateway.settings import SETTINGS_FILE, NodeSettings

    if (directory / SETTINGS_FILE).is_file():
        settings = NodeSettings.load(directory)
        return settings.serverconf_database(directory), settings.messagelog_database(directory)
    return directory / "serverconf.db", directory / "messagelog.db"


def _conf(directory: Path) -> ServerConf:
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a gateway directory (run `sild gateway init` first)")
    return ServerConf(open_engine(_databases(directory)[0]), refresh_interval=0)


def _message_log(directory: Path) -> "MessageLog":
    from gateway.messagelog import MessageLog

    location = _databases(directory)[1]
    if isinstance(location, Path) and not location.is_file():
        raise InvalidInput(f"{directory} has no message log ({location.name})")
    return MessageLog(open_engine(location), config=_no_group_commit())


def _client(text: str) -> ClientId:
    return parse_client_text(text)


def _service(text: str) -> ServiceId:
    try:
        return parse_service(text)
    except IdentifierError as exc:
        raise InvalidInput(str(exc)) from exc


def _out(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


# -- clients ---------------------------------------------------------------------------


@click.group("client")
def client_group() -> None:
    """Members and subsystems this gateway serves."""


@client_group.command("add")
@_DIR
@click.argument("client_id")
@click.option("--is-auth", type=click.Choice(["http", "https", "https-cert"]), default="http", show_default=True,
              help="How the information system must connect.")
@click.option("--allow", "allowed", multiple=True, help="IP address or network an http IS may connect from.")
@click.option("--registered", is_flag=True, help="Mark it registered (its registration is in the global configuration).")
@click.option("--cert", "certs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="IS TLS certificate (PEM/DER) for https-cert.")
def client_add(directory: Path, client_id: str, is_auth: str, allowed: tuple[str, ...], registered: bool,
               certs: tuple[Path, ...]) -> None:
    """Add a client (member or subsystem)."""
    conf = _conf(directory)
    client = _client(client_id)
    conf.add_client(client, is_auth=is_auth, allowed_addresses=list(allowed),
                    state="REGISTERED" if registered else "SAVED")
    for path in certs:
        conf.add_client_cert(client, path.read_bytes())
    click.echo(f"added {client.typed_text()} ({is_auth})")


@client_group.command("list")
@_DIR
@_JSON
def client_list(directory: Path, as_json: bool) -> None:
    """List clients."""
    clients = _conf(directory).list_clients()
    data = [{"id": c.id.to_text(), "state": c.state, "is_auth": c.is_auth,
             "allowed_addresses": [str(n) for n in c.allowed_networks], "certificates": sorted(c.cert_hashes)}
            for c in clients]
    _out(data, as_json, [f"{c.id.typed_text():50} {c.state:12} {c.is_auth}" for c in clients] or ["no clients"])


@client_group.command("set")
@_DIR
@click.argument("client_id")
@click.option("--state", type=click.Choice(["SAVED", "REGISTRATION_IN_PROGRESS", "REGISTERED", "DELETION_IN_PROGRESS", "DISABLED"]))
@click.option("--is-auth", type=click.Choice(["http", "https", "https-cert"]))
def client_set(directory: Path, client_id: str, state: str | None, is_auth: str | None) -> None:
    """Change a client's state or IS authentication."""
    conf = _conf(directory)
    client = _client(client_id)
    if is_auth:
        conf.set_client_auth(client, is_auth)
    if state:
        conf.set_client_state(client, state)
    click.echo(f"updated {client.typed_text()}")


@client_group.command("remove")
@_DIR
@click.argument("client_id")
def client_remove(directory: Path, client_id: str) -> None:
    """Remove a client with its services, rights and groups."""
    _conf(directory).remove_client(_client(client_id))
    click.echo(f"removed {client_id}")


# -- services ------------------------------------------------------------------------------


@click.group("service")
def service_group() -> None:
    """Services of a provider: from a WSDL, a REST base URL or an OpenAPI description."""


@service_group.command("add")
@_DIR
@click.argument("provider")
@click.option("--wsdl", "wsdl_url", help="WSDL URL: each operation becomes a service code.")
@click.option("--rest", "rest_url", help="REST base URL of one service (needs --code).")
@click.option("--openapi", "openapi_url", help="OpenAPI description URL (needs --code).")
@click.option("--file", "document", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the WSDL/OpenAPI from this file instead of downloading the URL.")
@click.option("--code", "service_code", help="Service code for --rest / --openapi.")
@click.option("--backend", "backend_url", help="Backend base URL for --openapi (default: its first server URL).")
@click.option("--timeout", type=int, default=60, show_default=True, help="Backend timeout in seconds.")
@click.option("--no-tls-verify", is_flag=True, help="Do not verify the backend's TLS certificate.")
@click.option("--enable", is_flag=True, help="Enable at once (new services start disabled, as in X-Road).")
def service_add(directory: Path, provider: str, wsdl_url: str | None, rest_url: str | None, openapi_url: str | None,
                document: Path | None, service_code: str | None, backend_url: str | None, timeout: int,
                no_tls_verify: bool, enable: bool) -> None:
    """Add services to PROVIDER."""
    chosen = [u for u in (wsdl_url, rest_url, openapi_url) if u]
    if len(chosen) != 1:
        raise InvalidInput("give exactly one of --wsdl, --rest, --openapi")
    conf = _conf(directory)
    owner = _client(provider)
    doc = document.read_bytes() if document is not None else None
    common: dict[str, Any] = {"enabled": enable, "timeout_seconds": timeout, "tls_verify": not no_tls_verify}
    if wsdl_url:
        desc = conf.add_wsdl(owner, wsdl_url, document=doc, **common)
    else:
        if not service_code:
            raise InvalidInput("--rest and --openapi need --code")
        if rest_url:
            desc = conf.add_rest(owner, rest_url, service_code, **common)
        else:
            desc = conf.add_openapi(owner, str(openapi_url), service_code, backend_url=backend_url, document=doc, **common)
    state = "enabled" if enable else "disabled (run `service enable`)"
    click.echo(f"added {desc.kind} description {desc.id}: {', '.join(desc.service_codes)} - {state}")


@service_group.command("list")
@_DIR
@click.argument("provider", required=False)
@_JSON
def service_list(directory: Path, provider: str | None, as_json: bool) -> None:
    """List services (of one provider)."""
    snap = _conf(directory).snapshot()
    services = sorted(snap.services.values(), key=lambda s: s.id.typed_text())
    if provider:
        owner = _client(provider)
        services = [s for s in services if s.id.provider == owner]
    data = [{"id": s.id.typed_text(), "type": s.kind, "url": s.url, "enabled": not s.disabled,
             "disabled_notice": s.disabled_notice, "description_id": s.description_id} for s in services]
    lines = [f"{s.id.typed_text():60} {s.kind:8} {'enabled ' if not s.disabled else 'disabled'} {s.url}" for s in services]
    _out(data, as_json, lines or ["no services"])


@service_group.command("enable")
@_DIR
@click.argument("service_id")
def service_enable(directory: Path, service_id: str) -> None:
    """Enable SERVICE_ID (INST/CLASS/CODE/SUB/SERVICE); its whole description is enabled."""
    desc = _conf(directory).set_service_enabled(_service(service_id), True)
    click.echo(f"enabled description {desc}")


@service_group.command("disable")
@_DIR
@click.argument("service_id")
@click.option("--notice", default="Out of order", show_default=True, help="Message callers get.")
def service_disable(directory: Path, service_id: str, notice: str) -> None:
    """Disable SERVICE_ID (callers get service_disabled with the notice)."""
    desc = _conf(directory).set_service_enabled(_service(service_id), False, notice)
    click.echo(f"disabled description {desc}")


@service_group.command("endpoint")
@_DIR
@click.argument("service_id")
@click.argument("method")
@click.argument("path")
def service_endpoint(directory: Path, service_id: str, method: str, path: str) -> None:
    """Add a REST endpoint METHOD PATH (patterns: * ** {param}) to a service."""
    service = _service(service_id)
    _conf(directory).add_endpoint(service.provider, service.service_code, method, path)
    click.echo(f"added endpoint {method.upper()} {path}")


# -- access rights -----------------------------------------------------------------------------


@click.group("access")
def access_group() -> None:
    """Access rights: who may call which service (version ignored) or REST endpoint."""


def _right_args(service_id: str, subject: str) -> tuple[ServiceId, Any]:
    return _service(service_id), parse_subject(subject)


@access_group.command("grant")
@_DIR
@click.argument("service_id")
@click.argument("subject")
@click.option("--method", default="*", show_default=True)
@click.option("--path", default="**", show_default=True)
def access_grant(directory: Path, service_id: str, subject: str, method: str, path: str) -> None:
    """Allow SUBJECT (client, GLOBALGROUP:INST/code or LOCALGROUP:code) to call SERVICE_ID."""
    service, subj = _right_args(service_id, subject)
    _conf(directory).grant(service.provider, service.service_code, subj, method=method, path=path)
    click.echo(f"granted {subj.typed_text()} -> {service.without_version().to_text()} {method.upper()} {path}")


@access_group.command("revoke")
@_DIR
@click.argument("service_id")
@click.argument("subject")
@click.option("--method", default="*", show_default=True)
@click.option("--path", default="**", show_default=True)
def access_revoke(directory: Path, service_id: str, subject: str, method: str, path: str) -> None:
    """Take a right away."""
    service, subj = _right_args(service_id, subject)
    _conf(directory).revoke(service.provider, service.service_code, subj, method=method, path=path)
    click.echo(f"revoked {subj.typed_text()} -> {service.without_version().to_text()} {method.upper()} {path}")


@access_group.command("list")
@_DIR
@click.argument("provider", required=False)
@_JSON
def access_list(directory: Path, provider: str | None, as_json: bool) -> None:
    """List access rights (of one provider)."""
    rights = _conf(directory).list_rights(_client(provider) if provider else None)
    data = [{"provider": r.provider.to_text(), "service_code": r.service_code, "method": r.endpoint.method,
             "path": r.endpoint.path, "subject": r.subject.typed_text()} for r in rights]
    lines = [f"{r.provider.to_text()}/{r.service_code} {r.endpoint.method} {r.endpoint.path} <- {r.subject.typed_text()}"
             for r in rights]
    _out(data, as_json, lines or ["no access rights"])


# -- local groups -----------------------------------------------------------------------------------


@click.group("localgroup")
def localgroup_group() -> None:
    """Local groups of a client (subjects of access rights)."""


@localgroup_group.command("add")
@_DIR
@click.argument("owner")
@click.argument("code")
@click.option("--description", default="")
def localgroup_add(directory: Path, owner: str, code: str, description: str) -> None:
    _conf(directory).add_local_group(_client(owner), code, description)
    click.echo(f"added local group {code}")


@localgroup_group.command("remove")
@_DIR
@click.argument("owner")
@click.argument("code")
def localgroup_remove(directory: Path, owner: str, code: str) -> None:
    _conf(directory).remove_local_group(_client(owner), code)
    click.echo(f"removed local group {code}")


@localgroup_group.command("add-member")
@_DIR
@click.argument("owner")
@click.argument("code")
@click.argument("members", nargs=-1, required=True)
def localgroup_add_member(directory: Path, owner: str, code: str, members: tuple[str, ...]) -> None:
    _conf(directory).add_group_members(_client(owner), code, [_client(m) for m in members])
    click.echo(f"added {len(members)} member(s) to {code}")


@localgroup_group.command("remove-member")
@_DIR
@click.argument("owner")
@click.argument("code")
@click.argument("members", nargs=-1, required=True)
def localgroup_remove_member(directory: Path, owner: str, code: str, members: tuple[str, ...]) -> None:
    _conf(directory).remove_group_members(_client(owner), code, [_client(m) for m in members])
    click.echo(f"removed {len(members)} member(s) from {code}")


@localgroup_group.command("list")
@_DIR
@click.argument("owner", required=False)
@_JSON
def localgroup_list(directory: Path, owner: str | None, as_json: bool) -> None:
    groups = _conf(directory).list_local_groups(_client(owner) if owner else None)
    data = [{"owner": g.owner.to_text(), "code": g.code, "description": g.description,
             "members": sorted(m.to_text() for m in g.members)} for g in groups]
    lines = [f"{g.owner.to_text()} {g.code}: {', '.join(sorted(m.to_text() for m in g.members)) or '(empty)'}" for g in groups]
    _out(data, as_json, lines or ["no local groups"])


# -- message log ------------------------------------------------------------------------------------------


@click.group("log")
def log_group() -> None:
    """The message log: evidence of every exchange."""


@log_group.command("export")
@_DIR
@click.option("--query-id", required=True, help="The exchange's message id (X-Road-Id / xroad:id).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.asice to write.")
@click.option("--direction", type=click.Choice(["request", "response"]), default="request", show_default=True)
@click.option("--require-timestamp", is_flag=True, help="Refuse records that are not timestamped yet.")
def log_export(directory: Path, query_id: str, out: Path, direction: str, require_timestamp: bool) -> None:
    """Write one exchange's request or response as an ASiC-E container (check it with `sild asic verify`)."""
    from trust.keys import write_atomic

    from gateway.messagelog import export_exchange

    data = export_exchange(_message_log(directory), query_id,
                           direction=direction,
                           require_timestamp=require_timestamp)
    write_atomic(out, data)
    click.echo(f"wrote {out} ({len(data)} bytes)")


def _archive_dir(directory: Path, archive_dir: Path | None) -> Path:
    return archive_dir if archive_dir is not None else directory / "archive"


@log_group.command("archive")
@_DIR
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: DIR/archive.")
@click.option("--keep-days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="Delete archived records older than this from the database.")
def log_archive(directory: Path, archive_dir: Path | None, keep_days: int) -> None:
    """Archive timestamped records now (the scheduled job does this every 6 hours)."""
    import datetime as dt

    from gateway.messagelog import Archiver

    archiver = Archiver(_message_log(directory), _archive_dir(directory, archive_dir), keep=dt.timedelta(days=keep_days))
    infos = archiver.archive_all()
    deleted = archiver.cleanup()
    for info in infos:
        click.echo(f"{info.file.name}: {info.record_count} record(s), sha512 {info.digest[:16]}...")
    click.echo(f"archived {sum(i.record_count for i in infos)} record(s) in {len(infos)} file(s); "
               f"deleted {deleted} old record(s) from the database")


@log_group.command("verify-archives")
@_DIR
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: DIR/archive.")
def log_verify_archives(directory: Path, archive_dir: Path | None) -> None:
    """Check that the archives chain to each other and hold what their linkinginfo lists."""
    from gateway.messagelog import verify_archive_chain

    paths = sorted(_archive_dir(directory, archive_dir).glob("mlog-*.zip"), key=lambda p: p.name.rsplit("-", 1)[-1])
    if not paths:
        raise InvalidInput("no archive files found")
    checked = verify_archive_chain(paths)
    click.echo(f"{len(paths)} archive(s), {checked} container(s): chain intact")


def _no_group_commit() -> Any:
    from gateway.messagelog import MessageLogConfig

    return MessageLogConfig(group_commit=False)


# -- API keys -------------------------------------------------------------------------------------------------


@click.group("apikey")
def apikey_group() -> None:
    """Keys for the admin API."""


@apikey_group.command("create")
@_DIR
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "service-admin", "auditor", "viewer"]))
@click.option("--label", default="")
def apikey_create(directory: Path, roles: tuple[str, ...], label: str) -> None:
    """Create a key; the secret is printed once and never stored."""
    from gateway.serverconf import create_api_key

    key_id, secret = create_api_key(_conf(directory), roles, label)
    click.echo(f"key {key_id} ({', '.join(sorted(roles))}): {secret}")


@apikey_group.command("revoke")
@_DIR
@click.argument("key_id", type=int)
def apikey_revoke(directory: Path, key_id: int) -> None:
    from gateway.serverconf import revoke_api_key

    revoke_api_key(_conf(directory), key_id)
    click.echo(f"revoked key {key_id}")


@apikey_group.command("list")
@_DIR
def apikey_list(directory: Path) -> None:
    from gateway.serverconf import list_api_keys

    for k in list_api_keys(_conf(directory)):
        click.echo(f"{k.id:4} {','.join(sorted(k.roles)):30} {'revoked' if k.revoked else 'active '} {k.label}")


__all__ = ["access_group", "apikey_group", "client_group", "localgroup_group", "log_group", "service_group"]
