"""``sild asic``: verify message-log evidence (ASiC-E containers) from the command line.

``sild asic verify FILE --conf DIR`` is what an auditor runs years after an exchange:
it prints who signed what and when, exits 0 for a valid container and 1 with the
reason otherwise. ``--conf`` is a configuration tree -- as sild's configuration client
stores it, or as X-Road stores it (``<dir>/<INSTANCE>/shared-params.xml``) -- from
which one trust policy per instance is built; the container is judged at the time
its evidence was made, not today.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from trust.approved import TrustPolicy
from trust.asic import verify_container
from trust.errors import SildError


class ConfigurationTreeError(SildError):
    code = "gateway.asic.configuration_tree"


def _load_policies(conf: Path) -> dict[str, TrustPolicy]:
    """Trust policies per instance from a configuration tree.

    Federation owns reading configuration trees; ``federation.conftree`` (both layouts)
    replaces the fallback below as soon as it is available.
    """
    try:
        from federation import conftree  # type: ignore[attr-defined]
    except ImportError:
        conftree = None
    if conftree is not None and hasattr(conftree, "load_trust_policies"):
        policies: dict[str, TrustPolicy] = conftree.load_trust_policies(conf)
        return policies
    return _load_policies_fallback(conf)


def _load_policies_fallback(conf: Path) -> dict[str, TrustPolicy]:
    from federation.model_xml import parse_shared_parameters

    if not conf.is_dir():
        raise ConfigurationTreeError(f"configuration directory {conf} does not exist")
    found: dict[str, TrustPolicy] = {}
    for shared in sorted(conf.glob("*/shared-params.xml")):
        version: int | None = None
        metadata = shared.with_name(shared.name + ".metadata")
        if metadata.is_file():
            try:
                value = json.loads(metadata.read_text("utf-8")).get("configurationVersion")
                version = int(value) if value is not None else None
            except (ValueError, AttributeError) as exc:
                raise ConfigurationTreeError(f"{metadata} is not valid metadata JSON") from exc
        try:
            params = parse_shared_parameters(shared.read_bytes(), version=version)
        except SildError as exc:
            raise ConfigurationTreeError(f"{shared}: {exc}") from exc
        policy = params.to_trust_policy()
        found[policy.instance] = policy
    if not found:
        raise ConfigurationTreeError(f"no shared parameters found under {conf}")
    return found


@click.group("asic")
def asic_group() -> None:
    """Message-log evidence: ASiC-E containers."""


@asic_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--conf", "conf", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="configuration tree (sild's or X-Road's layout) with the instances' shared parameters")
@click.option("--require-timestamp", is_flag=True, help="refuse containers without a timestamp")
def verify_command(file: Path, conf: Path, require_timestamp: bool) -> None:
    """Verify FILE and print who signed what and when."""
    policies = _load_policies(conf)
    verified = verify_container(file.read_bytes(), policies, require_timestamp=require_timestamp)
    click.echo(f"{file.name}: valid")
    for line in verified.describe():
        click.echo(f"  {line}")
