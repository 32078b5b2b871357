"""Commands of ``sild gateway tracker``; ``sild gateway tracker SUBJECT DIR`` is short for ``show``.

The data owner's operator declares a subject rule once per service and answers a
person's question ("who looked at my data?") with ``show``: text, ``--json`` (what the
admin API's ``GET /api/v1/tracker/subjects/{id}`` gives) or ``--html FILE``, the
printable report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.serverconf import InvalidInput

from .._directory import DIRECTORY, JSON_OPTION, client_arg, echo_out, open_conf


class _TrackerGroup(click.Group):
    """A group whose first argument, when it names no command, is the subject of ``show``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("tracker", cls=_TrackerGroup)
def tracker_group() -> None:
    """Who looked at a data subject's data: `tracker SUBJECT DIR`, and where services name their subject."""


@tracker_group.command("show")
@click.argument("subject")
@DIRECTORY
@JSON_OPTION
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the printable report to this file.")
@click.option("--owner", default="", help="The data owner's name in the report's title.")
def tracker_show(subject: str, directory: Path, as_json: bool, html_file: Path | None, owner: str) -> None:
    """Every recorded exchange on SUBJECT's data (oldest first), each with its evidence."""
    from trust.infra import write_atomic

    from gateway.tracker import Tracker, html_report, text_lines

    if not subject or len(subject) > 255:
        raise InvalidInput("a subject identifier has 1 to 255 characters")
    entries = Tracker(open_conf(directory), directory).entries(subject)
    if html_file is not None:
        page = html_report(subject, owner or "data owner's systems", entries, str(directory))
        write_atomic(html_file, page.encode("utf-8"))
    data = {"subject": subject, "entries": [e.to_json() for e in entries]}
    echo_out(data, as_json, text_lines(subject, entries, str(directory)))
    if html_file is not None and not as_json:
        click.echo(f"wrote {html_file}")


@tracker_group.command("declare")
@DIRECTORY
@click.argument("provider")
@click.argument("service_code")
@click.option("--path", "path_template", help="REST: a path template with one {placeholder}, e.g. /{person}.")
@click.option("--query", help="REST: the query parameter that holds the subject.")
@click.option("--header", help="REST: an HTTP header; SOAP: an element of the SOAP header (local name).")
@click.option("--xpath", help="SOAP: an XPath evaluated on the SOAP Body, e.g. vero:getTaxRecord/vero:personCode.")
@click.option("--ns", "namespaces", multiple=True, help="An XPath prefix as prefix=URI (repeatable).")
@click.option("--plain", is_flag=True, help="Store the identifier itself instead of its keyed hash.")
def tracker_declare(directory: Path, provider: str, service_code: str, path_template: str | None,
                    query: str | None, header: str | None, xpath: str | None, namespaces: tuple[str, ...],
                    plain: bool) -> None:
    """Declare where requests to PROVIDER's service SERVICE_CODE name their data subject."""
    from gateway.tracker import Tracker, make_rule, parse_namespaces, save_rule

    given = {k: v for k, v in (("path", path_template), ("query", query), ("header", header), ("xpath", xpath)) if v}
    if len(given) != 1:
        raise InvalidInput("name exactly one of --path, --query, --header, --xpath")
    (source, expression), = given.items()
    rule = make_rule(client_arg(provider), service_code, source, expression, parse_namespaces(namespaces), plain)
    conf = open_conf(directory)
    save_rule(conf, rule)
    Tracker(conf, directory).key()  # made now: a cluster bundle exported next carries it (docs/tracker.md)
    click.echo(f"tracking {rule.provider.to_text()} {service_code}: subject from {source} {expression}"
               + (" (stored plain)" if plain else " (stored as a keyed hash)"))


@tracker_group.command("undeclare")
@DIRECTORY
@click.argument("provider")
@click.argument("service_code")
def tracker_undeclare(directory: Path, provider: str, service_code: str) -> None:
    """Stop tracking PROVIDER's SERVICE_CODE (entries already recorded stay)."""
    from gateway.tracker import remove_rule

    remove_rule(open_conf(directory), client_arg(provider), service_code)
    click.echo(f"no longer tracking {provider} {service_code}")


@tracker_group.command("list")
@DIRECTORY
@JSON_OPTION
def tracker_list(directory: Path, as_json: bool) -> None:
    """The declared services and where their requests name the subject."""
    from gateway.tracker import load_rules

    rules = load_rules(open_conf(directory))
    data: Any = {"rules": [r.to_json() for r in rules]}
    echo_out(data, as_json, [f"{r.provider.to_text()} {r.service_code}: {r.source} {r.expression}"
                             + (" (plain)" if r.store_plain else "") for r in rules] or ["no service is tracked"])
