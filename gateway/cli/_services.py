"""Command group ``sild gateway service``: services from a WSDL, a REST base URL or an OpenAPI description.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.serverconf import InvalidInput

from ._directory import DIRECTORY, JSON_OPTION, client_arg, echo_out, open_conf, service_arg


@click.group("service")
def service_group() -> None:
    """Services of a provider: from a WSDL, a REST base URL or an OpenAPI description."""


@service_group.command("add")
@DIRECTORY
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
    conf = open_conf(directory)
    owner = client_arg(provider)
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
@DIRECTORY
@click.argument("provider", required=False)
@JSON_OPTION
def service_list(directory: Path, provider: str | None, as_json: bool) -> None:
    """List services (of one provider)."""
    snap = open_conf(directory).snapshot()
    services = sorted(snap.services.values(), key=lambda s: s.id.typed_text())
    if provider:
        owner = client_arg(provider)
        services = [s for s in services if s.id.provider == owner]
    data = [{"id": s.id.typed_text(), "type": s.kind, "url": s.url, "enabled": not s.disabled,
             "disabled_notice": s.disabled_notice, "description_id": s.description_id} for s in services]
    lines = [f"{s.id.typed_text():60} {s.kind:8} {'enabled ' if not s.disabled else 'disabled'} {s.url}" for s in services]
    echo_out(data, as_json, lines or ["no services"])


@service_group.command("enable")
@DIRECTORY
@click.argument("service_id")
def service_enable(directory: Path, service_id: str) -> None:
    """Enable SERVICE_ID (INST/CLASS/CODE/SUB/SERVICE); its whole description is enabled."""
    desc = open_conf(directory).set_service_enabled(service_arg(service_id), True)
    click.echo(f"enabled description {desc}")


@service_group.command("disable")
@DIRECTORY
@click.argument("service_id")
@click.option("--notice", default="Out of order", show_default=True, help="Message callers get.")
def service_disable(directory: Path, service_id: str, notice: str) -> None:
    """Disable SERVICE_ID (callers get service_disabled with the notice)."""
    desc = open_conf(directory).set_service_enabled(service_arg(service_id), False, notice)
    click.echo(f"disabled description {desc}")


@service_group.command("endpoint")
@DIRECTORY
@click.argument("service_id")
@click.argument("method")
@click.argument("path")
def service_endpoint(directory: Path, service_id: str, method: str, path: str) -> None:
    """Add a REST endpoint METHOD PATH (patterns: * ** {param}) to a service."""
    service = service_arg(service_id)
    open_conf(directory).add_endpoint(service.provider, service.service_code, method, path)
    click.echo(f"added endpoint {method.upper()} {path}")


@service_group.group("description")
def description_group() -> None:
    """Service descriptions (WSDL, OpenAPI, REST): add, list, refresh from the URL, change the URL, delete."""


description_group.add_command(service_add, "add")


def _description_line(d: Any) -> str:
    state = "disabled" if d.disabled else "enabled "
    return f"{d.id:>4} {d.provider.typed_text():45} {d.kind:7} {state} {d.url}  [{', '.join(d.service_codes)}]"


def _description_json(d: Any) -> dict[str, Any]:
    return {"id": d.id, "provider": d.provider.typed_text(), "type": d.kind, "url": d.url, "enabled": not d.disabled,
            "disabled_notice": d.disabled_notice, "service_codes": list(d.service_codes),
            "refreshed_at": d.refreshed_at.isoformat() if d.refreshed_at else None}


@description_group.command("list")
@DIRECTORY
@click.argument("provider", required=False)
@JSON_OPTION
def description_list(directory: Path, provider: str | None, as_json: bool) -> None:
    """List service descriptions (of one provider) with their services."""
    found = open_conf(directory).list_descriptions(client_arg(provider) if provider else None)
    echo_out([_description_json(d) for d in found], as_json, [_description_line(d) for d in found] or ["no descriptions"])


def _report_refresh(result: Any, as_json: bool) -> None:
    data = {"description": _description_json(result.description), "added": list(result.added),
            "removed": list(result.removed), "changed": list(result.changed)}
    lines = [_description_line(result.description)]
    for label, codes in (("added", result.added), ("removed (with their rights)", result.removed),
                         ("changed", result.changed)):
        if codes:
            lines.append(f"  {label}: {', '.join(codes)}")
    if result.unchanged:
        lines.append("  no service changed")
    echo_out(data, as_json, lines)


@description_group.command("refresh")
@DIRECTORY
@click.argument("description_id", type=int)
@JSON_OPTION
def description_refresh(directory: Path, description_id: int, as_json: bool) -> None:
    """Read DESCRIPTION_ID's URL again: services that remain keep rights and state; new ones join, gone ones go."""
    _report_refresh(open_conf(directory).refresh_description(description_id), as_json)


@description_group.command("set-url")
@DIRECTORY
@click.argument("description_id", type=int)
@click.argument("url")
@JSON_OPTION
def description_set_url(directory: Path, description_id: int, url: str, as_json: bool) -> None:
    """Point DESCRIPTION_ID at URL (WSDL/OpenAPI: read from it, as a refresh; REST: the services move there)."""
    _report_refresh(open_conf(directory).set_description_url(description_id, url), as_json)


@description_group.command("delete")
@DIRECTORY
@click.argument("description_id", type=int)
def description_delete(directory: Path, description_id: int) -> None:
    """Delete DESCRIPTION_ID with its services and their access rights."""
    conf = open_conf(directory)
    codes = next((d.service_codes for d in conf.list_descriptions() if d.id == description_id), ())
    conf.remove_description(description_id)
    click.echo(f"deleted description {description_id}" + (f" and its services {', '.join(codes)}" if codes else ""))
