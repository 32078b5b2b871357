"""Commands of ``sild gateway anchor``: install a new configuration anchor, list the anchors used.

An anchor is what every trust decision of the gateway starts from: ``install`` takes a
new one only after a download with it succeeds (the authority rotated its signing
key), and ``history`` names the anchor of each period, which evidence of that period
verifies with (docs/evidence.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from trust.infra import utc_now

from gateway.settings import NodeSettings

from .._directory import DIRECTORY


@click.group("anchor")
def anchor_group() -> None:
    """The configuration anchor: install a new one (the authority rotated its signing key)."""


@anchor_group.command("install")
@DIRECTORY
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the check as JSON.")
def anchor_install_command(directory: Path, file: Path, as_json: bool) -> None:
    """Verify FILE against a download from its sources, then make it the gateway's anchor.

    A running node downloads with the new anchor within seconds; no restart.
    """
    from gateway.conf import install_anchor

    NodeSettings.load(directory)  # a clear error for a directory that is no gateway's
    check = install_anchor(directory, file.read_bytes(), at=utc_now())
    if as_json:
        click.echo(json.dumps(check.to_json(), indent=2))
        return
    click.echo(f"anchor of instance {check.instance} verified: {check.source_url} answered with a configuration "
               f"it signs (expires {check.expires_at.isoformat() if check.expires_at else 'never'})")
    click.echo(f"anchor SHA-224: {check.fingerprint}")
    if check.unchanged:
        click.echo("this anchor is already installed; nothing changed")
    else:
        click.echo(f"installed in {directory / 'anchor.xml'}; a running node downloads with it within seconds; "
                   f"the replaced anchor is kept in {directory / 'anchor-history'} (it verifies older evidence)")


@anchor_group.command("history")
@DIRECTORY
def anchor_history_command(directory: Path) -> None:
    """Each anchor this gateway used, and when: evidence of a period verifies with that period's anchor."""
    from gateway.conf import anchor_history

    click.echo("\n".join(anchor_history(directory)))
