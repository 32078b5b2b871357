"""Printed commands can be pasted into a fresh shell: ``sild`` is spelled as that shell finds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.sandbox import sild_hint, sild_program


@pytest.fixture
def venv(tmp_path, monkeypatch):
    """A project with ``.venv/bin/python`` and its ``sild`` console script, as ``make`` leaves it."""
    bin_dir = tmp_path / "project" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    script = bin_dir / "sild"
    script.write_text("#!/bin/sh\necho sild-ran \"$@\"\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path / "project"


def test_in_the_project_root_the_hint_is_the_venvs_script_relative(venv):
    assert sild_hint("sandbox", "down", "/tmp/a b", cwd=venv) == ".venv/bin/sild sandbox down '/tmp/a b'"
    # pasted into a fresh shell in that directory (no venv on PATH), it runs
    ran = subprocess.run(["sh", "-c", sild_hint("sandbox", "down", "/tmp/a b", cwd=venv)], cwd=venv,
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert ran.stdout == "sild-ran sandbox down /tmp/a b\n"


def test_elsewhere_the_hint_is_absolute_and_in_the_bin_dir_it_is_not_a_bare_name(venv, tmp_path):
    assert sild_program(cwd=tmp_path / "elsewhere") == str(venv / ".venv" / "bin" / "sild")
    assert sild_program(cwd=venv / ".venv" / "bin") == "./sild"


def test_plain_sild_only_when_path_finds_that_script(venv, monkeypatch):
    monkeypatch.setenv("PATH", f"{venv / '.venv' / 'bin'}{os.pathsep}/usr/bin")
    assert sild_program(cwd=venv) == "sild"


def test_without_a_console_script_the_interpreter_runs_sild(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    if Path("/usr/bin/sild").exists() or Path("/bin/sild").exists():
        pytest.skip("a system-wide sild is on PATH")
    assert sild_program(cwd=tmp_path) == f"{tmp_path / 'bin' / 'python3'} -c 'from gateway.cli import main; main()'"
