"""A run without X-Road's vectors skips what needs them and says so once; CI's run refuses.

Each case runs pytest on two vector-driven modules in a subprocess (the project's own
``conftest.py`` is what is under test), with ``SILD_XROAD_VECTORS`` pointing at an empty
folder. ``test_anchor.py`` reaches the vectors through a module-level path (``GC``) and
``test_soap_vectors.py`` through the ``xroad`` fixture, so both ways of reading them are
covered. The throw-away PostgreSQL is not started (its URL is set to a placeholder: none
of these tests uses it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.conformance import PROJECT_ROOT, REQUIRE_ENV, XROAD, missing_reason, present

MODULES = ["tests/federation/test_anchor.py", "tests/trust/protocol/test_soap_vectors.py"]


def _pytest(vectors: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in (REQUIRE_ENV, "PYTEST_ADDOPTS")}
    environ.update(SILD_XROAD_VECTORS=str(vectors), SILD_TEST_POSTGRES_URL="postgresql://unused",
                   PYTHONPATH=str(PROJECT_ROOT), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *MODULES],
                          cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=240)


def test_missing_vectors_skip_and_end_with_one_line(tmp_path: Path) -> None:
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.endswith("see docs/conformance.md")]
    assert len(lines) == 1, run.stdout[-3000:]
    assert run.stdout.rstrip().splitlines()[-1] == lines[0]  # the run ends with it
    assert re.match(rf"\d+ tests skipped: X-Road conformance vectors missing at {tmp_path}; ", lines[0])
    assert "make vectors XROAD=" in lines[0]
    assert " failed" not in run.stdout and " error" not in run.stdout


def test_a_run_that_requires_the_vectors_fails_without_them(tmp_path: Path) -> None:
    run = _pytest(tmp_path, **{REQUIRE_ENV: "1"})
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout[-3000:]
    assert f"vectors missing at {tmp_path} and {REQUIRE_ENV} is set" in run.stdout + run.stderr
    assert " passed" not in run.stdout


def test_a_partial_folder_is_not_the_vectors(tmp_path: Path) -> None:
    (tmp_path / "soap").mkdir()
    assert not present(tmp_path)


@pytest.mark.skipif(not present(), reason=missing_reason())
def test_present_vectors_all_run(tmp_path: Path) -> None:
    """Every test skipped without the vectors runs with them (and CI's variable lets it)."""
    run = _pytest(XROAD, **{REQUIRE_ENV: "1"})
    assert run.returncode == 0, run.stdout[-3000:]
    assert "vectors missing" not in run.stdout
    without = _pytest(tmp_path).stdout
    skipped = int(re.findall(r"^(\d+) tests skipped: X-Road", without, re.M)[0])
    assert skipped > 100
    passed = int(re.findall(r"(\d+) passed", without)[-1])
    # the same items either way; with the vectors one stays skipped: a query missing from the snapshot
    assert f"{passed + skipped - 1} passed, 1 skipped" in run.stdout
