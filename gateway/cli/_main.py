"""The ``sild`` command: one click group per package, gathered here.

``gateway`` is the outermost layer, so it is the only place that may import the
command groups of every package. Each group lives beside the code it drives.
Errors from sild become a one-line message and exit code 1; nothing else is caught,
so a bug still shows its traceback.

The groups are loaded when a command names them, not when ``sild`` starts: every
worker process and every CLI call would otherwise import all of sild, Flask and
SQLAlchemy before doing anything (``sild --help`` took ~1 s). The one-line summary
that ``sild --help`` lists for a group is kept in :data:`_GROUPS`; a test checks it
against the group's own docstring.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import click

from trust.errors import SildError


@dataclass(frozen=True)
class _Group:
    """Where a command group lives, and the summary ``sild --help`` shows for it."""

    module: str
    attr: str
    summary: str


_GROUPS = {
    "adapter": _Group("adapters.cli", "adapter_group",
                      "Wrap legacy SOAP/XML systems as exchange services (and legacy clients as consumers)."),
    "asic": _Group("gateway.cli._asic", "asic_group", "Message-log evidence: ASiC-E containers."),
    "central": _Group("federation.central._cli", "central_group",
                      "Governing authority: registry, configuration generation and distribution, federation."),
    "conf": _Group("federation.client._cli", "conf_group",
                   "Global configuration: verify a signed directory, fetch as a gateway does."),
    "conformance": _Group("gateway.cli.conformance", "conformance_group",
                          "X-Road conformance: a report of what sild does with X-Road's vectors and independent peers."),
    "demo": _Group("gateway.cli._demo", "demo_command",
                   "Two federated countries (EE, FI) exchanging data on this machine, step by step."),
    "gateway": _Group("gateway.cli._gateway", "gateway_group",
                      "Run a gateway (security server): set-up, registration, serving, status."),
    "sandbox": _Group("gateway.cli._sandbox", "sandbox_group",
                      "A local federation (EE and FI) for trying sild, tests and benchmarks."),
    "trust": _Group("trust.services._cli", "trust_group",
                    "Certificate authority, OCSP responder and timestamping authority."),
}


def load_group(name: str) -> click.Command:
    """Import the command group ``name`` (a key of :data:`_GROUPS`)."""
    entry = _GROUPS[name]
    command: click.Command = getattr(importlib.import_module(entry.module), entry.attr)
    _whole_summaries(command)
    return command


def first_sentence(text: str) -> str:
    """The first sentence of a help text's first paragraph, whole (click's own summary stops at ~45 characters)."""
    words = " ".join(text.split("\n\n")[0].split()).split(" ")
    for number, word in enumerate(words):
        if word.endswith("."):
            return " ".join(words[:number + 1])
    return " ".join(words)


def _whole_summaries(command: click.Command) -> None:
    """Give every subcommand its whole first sentence as ``short_help``.

    Without it click cuts each summary in a group's help to the room left on an
    80-column line and ends it with "...": a reader saw half a sentence. ``write_dl``
    wraps a long summary onto the next lines instead.
    """
    for sub in getattr(command, "commands", {}).values():
        if not sub.short_help and sub.help:
            sub.short_help = first_sentence(sub.help)
        _whole_summaries(sub)


class _SildGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_GROUPS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _GROUPS:
            self.add_command(load_group(cmd_name), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``sild --help`` from the summaries, without importing a group."""
        names = self.list_commands(ctx)
        if not names:
            return
        rows = []
        for name in names:
            # the whole first sentence, as the loaded group's help would show it (wrapped, never cut)
            rows.append((name, first_sentence(self.commands[name].help or "") if name in self.commands
                         else first_sentence(_GROUPS[name].summary)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
    """Load every command group now (what tests that call ``cli`` directly want)."""
    for name in _GROUPS:
        cli.get_command(click.Context(cli), name)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="sild")
