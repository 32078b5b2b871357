"""``sild`` loads a command group only when a command names it."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from gateway.cli._main import _GROUPS, cli, load_group


@pytest.mark.parametrize("name", sorted(_GROUPS))
def test_summary_is_the_groups_own_first_paragraph(name: str) -> None:
    command = load_group(name)
    assert command.name == name
    assert _GROUPS[name].summary == (command.help or "").split("\n\n")[0].strip()


def test_help_lists_every_group_without_importing_them() -> None:
    code = ("import sys\nfrom gateway.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith(('flask', 'sqlalchemy', 'gateway.node',"
            " 'federation.central', 'adapters.cli'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    for name in _GROUPS:
        assert f"  {name} " in out
    assert out.strip().endswith("LOADED []")


def test_a_group_is_loaded_when_named_and_unknown_names_fail() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["trust", "--help"])
    assert result.exit_code == 0 and "Certificate authority" in result.output
    assert isinstance(cli.commands["trust"], click.Group)
    result = runner.invoke(cli, ["no-such-group"])
    assert result.exit_code == 2 and "No such command" in result.output


@pytest.mark.parametrize("args", [[]] + [[name] for name in sorted(_GROUPS) if name != "demo"])
def test_help_shows_each_summary_whole(args: list[str]) -> None:
    """click cut summaries at ~45 characters with "..."; each is now its whole first sentence, wrapped."""
    from gateway.cli._main import first_sentence

    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0
    listing_lines = result.output.split("Commands:")[1].splitlines()
    assert [line for line in listing_lines if line.rstrip().endswith("...")] == []
    listing = " ".join(result.output.split("Commands:")[1].split())
    group = load_group(args[0]) if args else cli
    assert isinstance(group, click.Group)
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        if command.hidden:
            continue
        assert f"{name} {first_sentence(command.help or '')}" in listing
