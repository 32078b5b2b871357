"""``sild conformance report`` outside a source checkout: one line saying what it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli._main import _register, cli
from gateway.cli.conformance import _command, project_root


def test_the_checkout_is_found_beside_the_package() -> None:
    root = project_root()
    assert root is not None and (root / "tools" / "conformance" / "__init__.py").is_file()


def test_an_installed_sild_says_in_one_line_that_the_report_needs_the_checkout(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_command, "project_root", lambda: None)
    _register()
    result = CliRunner().invoke(cli, ["conformance", "report", "--out", str(tmp_path / "report")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the conformance report runs sild's own tests: it needs the source checkout (tools/ and tests/ "
        "beside gateway/) and its test dependencies, not an installed package"]
    assert not (tmp_path / "report").exists()
