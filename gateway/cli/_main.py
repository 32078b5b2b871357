"""The ``sild`` command: one click group per package, gathered here.

``gateway`` is the outermost layer, so it is the only place that may import the
command groups of every package. Each group lives beside the code it drives.
Errors from sild become a one-line message and exit code 1; nothing else is caught,
so a bug still shows its traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from trust.errors import SildError

# (module, attribute) of each command group, imported when the command runs.
_GROUPS = (
    ("trust.services._cli", "trust_group"),
    ("gateway.cli._asic", "asic_group"),
    ("federation.central._cli", "central_group"),
    ("federation.client._cli", "conf_group"),
    ("adapters.cli", "adapter_group"),
    ("gateway.cli._gateway", "gateway_group"),
    ("gateway.cli._sandbox", "sandbox_group"),
    ("gateway.cli._demo", "demo_command"),
)


class _SildGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SildError as exc:
            click.echo(f"sild: error: {exc} [{exc.code}]", err=True)
            ctx.exit(1)


@click.group(cls=_SildGroup)
@click.version_option(package_name="sild")
def cli() -> None:
    """sild: national data-exchange platforms in the style of X-Road, federated."""


def _register() -> None:
    for module_name, attr in _GROUPS:
        command = getattr(importlib.import_module(module_name), attr)
        if command.name not in cli.commands:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register()
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="sild")
