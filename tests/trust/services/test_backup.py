"""`sild trust backup|restore`: the CA's register, keys and certificates come back as of the backup."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import _main as sild_cli

PIN = "backup-ca-pin"


def _run(*args: str) -> tuple[int, str]:
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    result = CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN})
    return result.exit_code, result.output


def _issue(ca: Path, out: Path, member: str) -> None:
    code, output = _run("trust", "issue", str(ca), "--kind", "sign", "--member", member, "--out", str(out))
    assert code == 0, output


def test_a_ca_comes_back_as_of_its_backup(tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    assert _run("trust", "init", str(ca), "--instance", "EE", "--key-type", "ec-p256")[0] == 0
    _issue(ca, tmp_path / "before", "EE/GOV/70000001")
    code, output = _run("trust", "backup", str(ca), "--out", str(tmp_path / "ca.tar.gz"))
    assert code == 0, output
    assert "trust services EE" in output and "(1 database)" in output
    _issue(ca, tmp_path / "after", "EE/GOV/70000002")
    listed_then = _run("trust", "list", str(ca))[1]
    shutil.rmtree(ca)
    code, output = _run("trust", "restore", str(ca), str(tmp_path / "ca.tar.gz"))
    assert code == 0, output
    listed = _run("trust", "list", str(ca))[1]
    assert "70000001" in listed and "70000001" in listed_then
    assert "70000002" not in listed and "70000002" in listed_then
    _issue(ca, tmp_path / "again", "EE/GOV/70000003")  # the restored keys and register issue again
    other = tmp_path / "fi"
    assert _run("trust", "init", str(other), "--instance", "FI", "--key-type", "ec-p256")[0] == 0
    code, output = _run("trust", "restore", str(other), str(tmp_path / "ca.tar.gz"))
    assert code == 1 and "the backup is of trust services EE" in output and "[trust.backup.refused]" in output
