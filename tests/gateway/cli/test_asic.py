"""``sild asic verify``: exit 0 and a summary for valid containers, 1 and the reason otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli._main import _register, cli

CASES = [
    ("valid-signed-message", 0, "DEV/COM/4321/TestClient"),
    ("valid-batch-ts", 0, "timestamp: 2024-12-05T07:34:14+00:00 (batch)"),
    ("valid-non-batch-rest", 0, "DEV/COM/1234/TestService (response, rest)"),
    ("invalid-digest", 1, "trust.signature.digest_mismatch"),
    ("invalid-not-signed-hashchain", 1, "trust.asic.unsigned_entry"),
]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


@pytest.mark.parametrize(("name", "code", "expected"), CASES, ids=[c[0] for c in CASES])
def test_verify(runner: CliRunner, xroad: Path, name: str, code: int, expected: str) -> None:
    result = runner.invoke(cli, ["asic", "verify", str(xroad / "asic" / f"{name}.asice"),
                                "--conf", str(xroad / "globalconf" / "parsed" / "globalconf_good2_v3")])
    assert result.exit_code == code, result.output
    assert expected in result.output


def test_configuration_without_the_instance(runner: CliRunner, xroad: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["asic", "verify", str(xroad / "asic" / "valid-signed-message.asice"),
                                "--conf", str(tmp_path)])
    assert result.exit_code == 1
    assert "no shared parameters" in result.output or "configuration" in result.output
