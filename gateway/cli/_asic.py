"""``sild asic``: verify message-log evidence (ASiC-E containers) from the command line.

``sild asic verify FILE --conf DIR`` is what an auditor runs years after an exchange:
it prints who signed what and when, exits 0 for a valid container and 1 with the
reason otherwise. ``--conf`` is a configuration tree -- as sild's configuration client
stores it, or as X-Road stores it (``<dir>/<INSTANCE>/shared-params.xml``) -- from
which one trust policy per instance is built; the container is judged at the time
its evidence was made, not today.

``--anchor ANCHOR.xml`` (repeatable: one per instance, or the anchors of several
periods of one instance) verifies instead from the authority's anchor alone, with the
signed configuration the container carries (``gateway.messagelog.verify_with_anchors``):
no configuration tree is needed, and a failure names the link of the chain that broke.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from trust.pki import TrustPolicy
from trust.evidence import verify_container
from federation.conftree import load_tree


def _load_policies(conf: Path) -> dict[str, TrustPolicy]:
    """One trust policy per instance (own and federated) from a configuration tree.

    Reading configuration trees is federation's job: :func:`federation.conftree.load_tree`
    reads both layouts and refuses a damaged tree as a whole. Expiry of the parameters
    is deliberately not applied: evidence is judged with the trust of its own time.
    """
    return load_tree(conf).to_trust_policies()


@click.group("asic")
def asic_group() -> None:
    """Message-log evidence: ASiC-E containers."""


@asic_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--conf", "conf", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="configuration tree (sild's or X-Road's layout) with the instances' shared parameters")
@click.option("--anchor", "anchors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="configuration anchor (repeatable): verify from it with the configuration the container carries")
@click.option("--require-timestamp", is_flag=True, help="refuse containers without a timestamp")
def verify_command(file: Path, conf: Path | None, anchors: tuple[Path, ...], require_timestamp: bool) -> None:
    """Verify FILE and print who signed what and when."""
    if (conf is None) == (not anchors):
        raise click.UsageError("give either --conf DIR or --anchor ANCHOR.xml (one or more)")
    verified: Any
    if anchors:
        from federation.anchor import load_anchor
        from gateway.messagelog import verify_with_anchors

        verified = verify_with_anchors(file.read_bytes(), [load_anchor(a) for a in anchors],
                                       require_timestamp=require_timestamp)
    else:
        assert conf is not None
        verified = verify_container(file.read_bytes(), _load_policies(conf), require_timestamp=require_timestamp)
    click.echo(f"{file.name}: valid")
    for line in verified.describe():
        click.echo(f"  {line}")
