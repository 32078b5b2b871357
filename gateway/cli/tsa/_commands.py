"""Commands of ``sild gateway tsa``: list the approved TSAs, choose the ones used and their order, stamp now.

``list`` and ``use`` work on the gateway directory (the held configuration, the
message log, ``gateway.json``), so they work whether the node runs or not; a running
node follows ``use`` within seconds. ``run`` asks the running node over its admin API
(``POST /api/v1/timestamping/run``): the node's timestamping job and this run must
not stamp the same records at once, and only the node can serialise them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from trust.infra import utc_now

from .._directory import DIRECTORY, JSON_OPTION


@click.group("tsa")
def tsa_group() -> None:
    """Timestamping services: the approved ones, which this gateway uses and in which order."""


def _when(text: object) -> str:
    return str(text).replace("T", " ") if text else "never"


@tsa_group.command("list")
@DIRECTORY
@JSON_OPTION
def tsa_list(directory: Path, as_json: bool) -> None:
    """The TSAs the held global configuration approves: used or not, in which order, last success and failure."""
    from gateway.node import timestamping_services

    info = timestamping_services(directory, utc_now())
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    if not info["services"]:
        click.echo("no TSA is approved in the held global configuration (none downloaded yet?)")
    for tsa in info["services"]:
        used = f"in use, #{tsa['order']}" if tsa["order"] else "not used"
        click.echo(f"{tsa['name']}  {tsa['url']}  ({used})")
        click.echo(f"  certificate {tsa['certificate']['subject']}, valid until {_when(tsa['certificate']['not_after'])}")
        click.echo(f"  last timestamp {_when(tsa['last_timestamp'])}; last success {_when(tsa['last_success'])}; "
                   f"last failure {_when(tsa['last_failure'])}" + (f" ({tsa['last_error']})" if tsa["last_error"] else ""))
    click.echo("choice: " + ("every approved TSA, in the configuration's order" if info["all_approved"]
                             else ", ".join(info["chosen"])))


@tsa_group.command("use")
@DIRECTORY
@click.argument("tsas", nargs=-1)
def tsa_use(directory: Path, tsas: tuple[str, ...]) -> None:
    """Stamp with TSAS (URLs or names, in order of use); none: every approved TSA.

    Each must be approved in the held global configuration. A running node asks the
    new ones from its next timestamping run, within seconds; no restart.
    """
    from gateway.node import choose_timestamping_services

    after = choose_timestamping_services(directory, tsas, utc_now())
    chosen = ", ".join(after.timestamping_services) or "every approved TSA, in the configuration's order"
    click.echo(f"timestamping with {chosen}; a running node follows within seconds")


@tsa_group.command("run")
@DIRECTORY
@click.option("--key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="File holding an admin API key [default: $SILD_ADMIN_API_KEY].")
@JSON_OPTION
def tsa_run(directory: Path, key_file: Path | None, as_json: bool) -> None:
    """Timestamp the records waiting in the running node's message log now (admin API, role admin)."""
    from .._admin import call_admin_api

    info = call_admin_api(directory, "POST", "/api/v1/timestamping/run", key_file=key_file).json()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['stamped']} record(s) timestamped" + (f" by {info['tsa']}" if info.get("tsa") else ""))
    for url, outcome in (info.get("attempts") or {}).items():
        if outcome != "ok":
            click.echo(f"  {url} failed: {outcome}")


# the admin API records the run in the audit log (as ``token logout``): the CLI's wrapper would record it twice
tsa_run._sild_audited = True  # type: ignore[attr-defined]
