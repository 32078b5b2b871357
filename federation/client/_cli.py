"""``sild conf``: verify and fetch global configuration from the command line.

* ``sild conf verify SOURCE --anchor FILE [--at ISO-TIME]``: SOURCE is a URL
  (``https://cs/internalconf``; ``?version=6`` down to 2 is tried as the client
  does), a signed directory file (parts are looked up beside it, walking up the
  folders, or under ``--parts DIR``), or a served folder holding ``V6/internalconf``
  and friends. Prints instance, version, expiry and parts; exits 1 with the reason
  and its code when anything fails.
* ``sild conf fetch --anchor FILE --dir DIR [--allowed-federations none|all|ee,fi]``:
  one refresh of the configuration client into DIR (own instance and allowed
  partners); exits 1 when the own instance could not be refreshed.
* ``sild conf fingerprint FILE``: the SHA-224 fingerprint of an anchor file, as
  operators compare it out of band.
"""

from __future__ import annotations

import datetime as dt
import ssl
import urllib.parse
from pathlib import Path

import click

from trust.infra import utc_now

from federation.anchor import load_anchor
from ._client import ConfigurationClient
from ._config import DEFAULT_VERSIONS, AllowedFederations, ClientConfig
from federation.directory import VerifiedConfiguration, verify_directory
from federation.model import AnchorSource, ConfigurationAnchor, PrivateParameters, SharedParameters
from federation.model import ConfError, ConfMissingPart


def _moment(text: str | None) -> dt.datetime:
    if text is None:
        return utc_now()  # CLI edge: the wall clock is the default moment
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from None
    if value.tzinfo is None:
        raise click.BadParameter("give a time zone (e.g. 2026-06-01T12:00:00Z)", param_hint="--at")
    return value


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _fail(error: ConfError) -> None:
    click.echo(f"sild: error: {error} [{error.code}]", err=True)
    raise click.exceptions.Exit(1)


def _print(verified: VerifiedConfiguration) -> None:
    click.echo(f"instance: {verified.instance}")
    click.echo(f"version: {verified.version}")
    click.echo(f"expires: {verified.expires_at.astimezone(dt.timezone.utc).isoformat()}")
    click.echo(f"signed by: {verified.verification_cert.subject.rfc4514_string()}")
    click.echo("parts:")
    for part in verified.parts:
        summary = ""
        if isinstance(part.model, SharedParameters):
            m = part.model
            summary = f" ({len(m.members)} members, {len(m.security_servers)} gateways, {len(m.approved_cas)} CAs)"
        elif isinstance(part.model, PrivateParameters):
            summary = f" ({len(part.model.anchors)} trusted anchors)"
        who = f" instance={part.instance}" if part.instance else ""
        click.echo(f"  {part.content_identifier}{who} {part.location} {len(part.data)} bytes, hash ok{summary}")


def _from_files(source: Path, parts_dir: Path | None):  # type: ignore[no-untyped-def]
    def fetch(location: str) -> bytes:
        relative = location.lstrip("/")
        candidates = [parts_dir] if parts_dir else list(source.parents)
        for base in candidates:
            target = (base / relative).resolve()
            if target.is_file() and base.resolve() in target.parents:
                return target.read_bytes()
        raise ConfMissingPart(f"part {location} not found beside {source}")

    return fetch


@click.group("conf")
def conf_group() -> None:
    """Global configuration: verify a signed directory, fetch as a gateway does."""


@conf_group.command("verify")
@click.argument("source")
@click.option("--anchor", "anchor_file", required=True, type=click.Path(exists=True, dir_okay=False), help="Configuration anchor XML.")
@click.option("--at", "at_text", default=None, help="Moment of verification (ISO 8601 with zone); default now.")
@click.option("--parts", "parts_dir", default=None, type=click.Path(exists=True, file_okay=False), help="Folder holding the parts.")
@click.option("--kind", type=click.Choice(["internal", "external"]), default="internal", help="For a served folder.")
@click.option("--ca-file", default=None, type=click.Path(exists=True, dir_okay=False), help="Extra CA bundle for HTTPS.")
def verify_command(source: str, anchor_file: str, at_text: str | None, parts_dir: str | None, kind: str, ca_file: str | None) -> None:
    """Verify a signed configuration directory against an anchor."""
    at = _moment(at_text)
    try:
        anchor = load_anchor(anchor_file).anchor
        if source.lower().startswith(("http://", "https://")):
            verified = _verify_url(source, anchor, at, ca_file)
        else:
            path = Path(source)
            if path.is_dir():
                candidates = sorted(path.glob(f"V*/{kind}conf"), key=lambda p: int(p.parent.name[1:]) if p.parent.name[1:].isdigit() else 0)
                if not candidates:
                    raise ConfMissingPart(f"{path} holds no V*/{kind}conf")
                path = candidates[-1]
                parts_base: Path | None = Path(source)
            else:
                parts_base = Path(parts_dir) if parts_dir else None
            if not path.is_file():
                raise ConfMissingPart(f"{source} does not exist")
            verified = verify_directory(path.read_bytes(), anchor, at=at, fetch_part=_from_files(path, parts_base))
    except ConfError as exc:
        _fail(exc)
        return
    _print(verified)


def _verify_url(url: str, anchor: ConfigurationAnchor, at: dt.datetime, ca_file: str | None) -> VerifiedConfiguration:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    try:
        versions = (int(query["version"][0]),) if "version" in query else DEFAULT_VERSIONS
        config = ClientConfig(
            anchor=ConfigurationAnchor(anchor.instance, (AnchorSource(url, anchor.verification_certs()),)),
            directory=Path("."),  # nothing is stored by verify
            ssl_context=_ssl_context(ca_file),
            versions=versions,
        )
    except ValueError as exc:
        raise click.BadParameter(f"unsupported version in {url}: {exc}", param_hint="SOURCE") from None
    verified, _ = ConfigurationClient(config).download(config.anchor, at)
    return verified


@conf_group.command("fetch")
@click.option("--anchor", "anchor_file", required=True, type=click.Path(exists=True, dir_okay=False), help="Own instance's anchor.")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False), help="Where configuration is stored.")
@click.option("--allowed-federations", default="none", show_default=True, help="none, all, or instance codes such as EE,FI (as gateway init and gateway.json).")
@click.option("--at", "at_text", default=None, help="Moment of verification (ISO 8601 with zone); default now.")
@click.option("--ca-file", default=None, type=click.Path(exists=True, dir_okay=False), help="Extra CA bundle for HTTPS.")
def fetch_command(anchor_file: str, directory: str, allowed_federations: str, at_text: str | None, ca_file: str | None) -> None:
    """Download, verify and store configuration once, as a gateway's client does."""
    at = _moment(at_text)
    try:
        allowed = AllowedFederations.parse(allowed_federations)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allowed-federations") from None
    try:
        anchor = load_anchor(anchor_file).anchor
    except ConfError as exc:
        _fail(exc)
        return
    client = ConfigurationClient(
        ClientConfig(anchor=anchor, directory=Path(directory), allowed_federations=allowed, ssl_context=_ssl_context(ca_file))
    )
    report = client.refresh(at)
    for outcome in report.outcomes:
        if outcome.ok:
            expires = outcome.expires_at.isoformat() if outcome.expires_at else "?"
            click.echo(f"{outcome.instance}: ok ({outcome.kind}) from {outcome.source_url}, expires {expires}")
        else:
            kept = "kept previous copy" if outcome.kept_previous else "nothing stored"
            click.echo(f"{outcome.instance}: FAILED [{outcome.code}] {outcome.message} ({kept})")
    for instance in report.removed:
        click.echo(f"{instance}: removed (no longer trusted or allowed)")
    own = report.outcome(anchor.instance)
    if own is None or not own.ok:
        raise click.exceptions.Exit(1)


@conf_group.command("fingerprint")
@click.argument("anchor_file", type=click.Path(exists=True, dir_okay=False))
def fingerprint_command(anchor_file: str) -> None:
    """Print an anchor's instance and SHA-224 fingerprint (compare it out of band)."""
    try:
        loaded = load_anchor(anchor_file)
    except ConfError as exc:
        _fail(exc)
        return
    click.echo(f"instance: {loaded.anchor.instance}")
    click.echo(f"SHA-224: {loaded.fingerprint}")
