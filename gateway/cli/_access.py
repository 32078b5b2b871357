"""Command groups ``sild gateway access`` and ``sild gateway localgroup``: who may call what.

Access rights name a subject (a client, a global group or a local group); local
groups are the gateway's own named sets of clients for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from gateway.serverconf import GrantTerms, ServerConf, make_terms, parse_instant, parse_subject

from ._directory import DIRECTORY, JSON_OPTION, client_arg, echo_out, open_conf, service_arg


@click.group("access")
def access_group() -> None:
    """Access rights: who may call which service (version ignored) or REST endpoint."""


def _right_command(name: str, done: str, change: Callable[..., None], help_text: str) -> click.Command:
    """``access grant`` or ``access revoke``: both name a right the same way and differ only in
    what they do; a grant may also carry terms (purposes, validity window; issue 20)."""

    @access_group.command(name, help=help_text)
    @DIRECTORY
    @click.argument("service_id")
    @click.argument("subject")
    @click.option("--method", default="*", show_default=True)
    @click.option("--path", default="**", show_default=True)
    def command(directory: Path, service_id: str, subject: str, method: str, path: str, **terms: Any) -> None:
        service, subj = service_arg(service_id), parse_subject(subject)
        extra = {"terms": _terms(**terms)} if terms else {}
        change(open_conf(directory), service.provider, service.service_code, subj, method=method, path=path, **extra)
        shown = _terms_text(extra["terms"]) if extra else ""
        click.echo(f"{done} {subj.typed_text()} -> {service.without_version().to_text()} {method.upper()} {path}{shown}")

    if name == "grant":
        command = click.option("--valid-until", default=None,
                               help="the right expires at this time (2027-01-01 = 00:00 UTC, or ISO 8601 with a zone)")(command)
        command = click.option("--valid-from", default=None, help="the right holds from this time (same forms)")(command)
        command = click.option("--purpose", "purposes", multiple=True, metavar="CODE",
                               help="the request must declare one of these purposes (repeatable)")(command)
    return command


def _terms(purposes: tuple[str, ...], valid_from: str | None, valid_until: str | None) -> GrantTerms:
    """The grant's terms from the options; a malformed one is the command's one-line error."""
    return make_terms(purposes, parse_instant(valid_from, "--valid-from"), parse_instant(valid_until, "--valid-until"))


def _terms_text(terms: GrantTerms) -> str:
    shown = terms.as_json()
    return "".join([f" for {', '.join(terms.purposes)}" if terms.purposes else "",
                    f" from {shown['valid_from']}" if terms.valid_from else "",
                    f" until {shown['valid_until']}" if terms.valid_until else ""])


access_grant = _right_command(
    "grant", "granted", ServerConf.grant,
    "Allow SUBJECT (client, GLOBALGROUP:INST/code or LOCALGROUP:code) to call SERVICE_ID, "
    "optionally only for declared purposes and within a validity window.")
access_revoke = _right_command("revoke", "revoked", ServerConf.revoke, "Take a right away.")


@access_group.command("list")
@DIRECTORY
@click.argument("provider", required=False)
@JSON_OPTION
def access_list(directory: Path, provider: str | None, as_json: bool) -> None:
    """List access rights (of one provider)."""
    rights = open_conf(directory).list_rights(client_arg(provider) if provider else None)
    data = [{"provider": r.provider.to_text(), "service_code": r.service_code, "method": r.endpoint.method,
             "path": r.endpoint.path, "subject": r.subject.typed_text(), **r.terms.as_json()} for r in rights]
    lines = [f"{r.provider.to_text()}/{r.service_code} {r.endpoint.method} {r.endpoint.path} <- {r.subject.typed_text()}"
             f"{_terms_text(r.terms)}" for r in rights]
    echo_out(data, as_json, lines or ["no access rights"])


@click.group("localgroup")
def localgroup_group() -> None:
    """Local groups of a client (subjects of access rights)."""


@localgroup_group.command("add")
@DIRECTORY
@click.argument("owner")
@click.argument("code")
@click.option("--description", default="")
def localgroup_add(directory: Path, owner: str, code: str, description: str) -> None:
    open_conf(directory).add_local_group(client_arg(owner), code, description)
    click.echo(f"added local group {code}")


@localgroup_group.command("remove")
@DIRECTORY
@click.argument("owner")
@click.argument("code")
def localgroup_remove(directory: Path, owner: str, code: str) -> None:
    open_conf(directory).remove_local_group(client_arg(owner), code)
    click.echo(f"removed local group {code}")


def _members_command(name: str, done: str, change: Callable[..., None]) -> click.Command:
    """``localgroup add-member`` or ``localgroup remove-member``: the same arguments, opposite changes."""

    @localgroup_group.command(name)
    @DIRECTORY
    @click.argument("owner")
    @click.argument("code")
    @click.argument("members", nargs=-1, required=True)
    def command(directory: Path, owner: str, code: str, members: tuple[str, ...]) -> None:
        change(open_conf(directory), client_arg(owner), code, [client_arg(m) for m in members])
        click.echo(done.format(count=len(members), code=code))

    return command


localgroup_add_member = _members_command("add-member", "added {count} member(s) to {code}",
                                         ServerConf.add_group_members)
localgroup_remove_member = _members_command("remove-member", "removed {count} member(s) from {code}",
                                            ServerConf.remove_group_members)


@localgroup_group.command("list")
@DIRECTORY
@click.argument("owner", required=False)
@JSON_OPTION
def localgroup_list(directory: Path, owner: str | None, as_json: bool) -> None:
    groups = open_conf(directory).list_local_groups(client_arg(owner) if owner else None)
    data = [{"owner": g.owner.to_text(), "code": g.code, "description": g.description,
             "members": sorted(m.to_text() for m in g.members)} for g in groups]
    lines = [f"{g.owner.to_text()} {g.code}: {', '.join(sorted(m.to_text() for m in g.members)) or '(empty)'}" for g in groups]
    echo_out(data, as_json, lines or ["no local groups"])
