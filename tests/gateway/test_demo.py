"""``sild demo`` is the README's first command; the suite runs it for real.

Two demos run at the same time, as two ``sild demo`` processes, each with its own
sandbox of nine processes on free loopback ports: both must pass every step, print
the step outcomes the README promises, and leave no process behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

STEP_TITLES = (
    "Two national instances come up",
    "Discovery",
    "Cross-border SOAP",
    "Cross-border REST",
    "The data owner decides",
    "No single point of failure",
    "Evidence",
)


def _sild_demo(directory: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "demo", "--dir", str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def _children_alive(directory: Path) -> list[str]:
    """Processes whose command line names this demo's directory."""
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split(") ")[1].split()[0]
        except OSError:
            continue
        if str(directory) in cmd and state != "Z":
            alive.append(cmd)
    return alive


def test_two_demos_at_once_pass_every_step_and_leave_nothing_behind(tmp_path):
    dirs = [tmp_path / "one", tmp_path / "two"]
    procs = [_sild_demo(d) for d in dirs]
    outputs = [p.communicate(timeout=540)[0] for p in procs]
    for directory, proc, out in zip(dirs, procs, outputs):
        assert proc.returncode == 0, out[-4000:]
        for number, title in enumerate(STEP_TITLES, 1):
            assert re.search(rf"Step {number}\. {re.escape(title)}", out), out[-4000:]
        assert out.count("    ok (") == len(STEP_TITLES), out[-4000:]
        assert "\x1b[" not in out  # colour only on a terminal
        assert max(len(line) for line in out.splitlines()) <= 80
        # the outcomes each step promises
        assert "FI/GOV/0245437-2/vero (Verohallinto)" in out
        assert "signed by          FI/GOV/0245437-2/vero" in out
        assert "XML-DSig           valid, signed by" in out
        assert "access_denied" in out and "network_error" in out
        assert "timestamp" in out and "Summary" in out
        assert "Stopped" in out and "nothing is left running" in out
        deadline = time.monotonic() + 10
        while _children_alive(directory) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _children_alive(directory) == []
        assert not list((directory / "pids").glob("*.pid"))
