"""``sild demo`` is the README's first command; the suite runs it for real.

Two demos run at the same time, as two ``sild demo`` processes, each with its own
sandbox of nine processes on free loopback ports: both must pass every step, print
the step outcomes the README promises, and leave no process behind.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import quickstart

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


SILD = [sys.executable, "-c", "from gateway.cli import main; main()"]


def _sild_demo(directory: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.Popen(
        [*SILD, "demo", "--dir", str(directory), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        # as from a terminal: a suite started in the background (``nohup make test &``)
        # hands its children an ignored SIGINT, which Python then keeps ignoring
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _pasted_commands(out: str) -> list[list[str]]:
    """The commands ``--keep`` prints, as a shell would read them (continuations joined)."""
    commands, current = [], ""
    for line in out.splitlines():
        stripped = line.strip()
        if not current and not stripped.startswith("curl "):
            continue
        current += " " + stripped.rstrip("\\")
        if not stripped.endswith("\\"):
            commands.append(shlex.split(current))
            current = ""
    return commands


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
    """The second demo runs with ``--keep``: its network stays up until ``sild sandbox down``."""
    dirs = [tmp_path / "one", tmp_path / "two"]
    procs = [_sild_demo(dirs[0]), _sild_demo(dirs[1], "--keep")]
    kept = ""
    try:
        outputs = [p.communicate(timeout=540)[0] for p in procs]
        kept = outputs[1]
        assert procs[1].returncode == 0, kept[-4000:]
        # 80 columns, except where a line names this test's (long) temporary directory
        assert max(len(line) for line in kept.splitlines() if str(dirs[1]) not in line) <= 80
        commands = _pasted_commands(kept)
        assert len(commands) == 3, kept[-2000:]
        for command in commands:  # every printed command works against the kept network
            url = next(a for a in command if a.startswith("http://"))
            headers = dict(command[i + 1].split(": ", 1) for i, a in enumerate(command) if a == "-H")
            params = dict(command[i + 1].split("=", 1) for i, a in enumerate(command) if a == "-d")
            response = httpx.get(url, headers=headers, params=params, timeout=30, trust_env=False)
            assert response.status_code == 200, (command, response.text[:500])
        assert _children_alive(dirs[1]), "--keep must leave the network running"
        # where to look in a browser: each UI printed with the sandbox's own login, which signs in
        state = json.loads((dirs[1] / "sandbox.json").read_text())
        assert f"Sign in as sandbox-admin, password {state['ui']['password']}" in kept, kept[-2000:]
        for gateway in state["gateways"]:
            assert re.search(rf"gateway {re.escape(gateway['id'])} +{re.escape(gateway['ui_url'])}\n", kept)
        for name, instance in state["instances"].items():
            assert re.search(rf"authority {name} +{re.escape(instance['ui_url'])}\n", kept)
        # docs/quickstart.md section 3, pasted as the page shows it, against this kept network
        problems = quickstart.explore(dirs[1], tmp_path / "paste")
        assert problems == [], "\n\n".join(problems)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        stop = [line[len("Stop it: "):] for line in kept.splitlines() if line.startswith("Stop it: ")]
        # pasted into a fresh shell: no virtual environment on PATH (only the code's location is kept)
        fresh = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        down = subprocess.run(stop[0] if stop else shlex.join([*SILD, "sandbox", "down", str(dirs[1])]), shell=True,
                              capture_output=True, text=True, timeout=120, env=fresh)
    assert stop and stop[0].endswith(f"sandbox down {dirs[1]}"), kept[-2000:]
    assert down.returncode == 0 and down.stdout.startswith("stopped "), down.stderr
    outputs[1] = kept.replace("Stopped", "").replace("nothing is left running", "")
    for directory, proc, out in zip(dirs, procs, outputs):
        assert proc.returncode == 0, out[-4000:]
        for number, title in enumerate(STEP_TITLES, 1):
            assert re.search(rf"Step {number}\. {re.escape(title)}", out), out[-4000:]
        assert out.count("    ok (") == len(STEP_TITLES), out[-4000:]
        assert "\x1b[" not in out  # colour only on a terminal
        assert max(len(line) for line in out.splitlines() if str(directory) not in line) <= 80
        # the outcomes each step promises
        assert "FI/GOV/0245437-2/vero (Verohallinto)" in out
        assert "signed by          FI/GOV/0245437-2/vero" in out
        assert "XML-DSig           valid, signed by" in out
        assert "access_denied" in out and "network_error" in out
        assert "timestamp" in out and "Summary" in out
        assert out.count("waiting for the gateway") <= 1  # one line with a counter, however long the wait
        if directory == dirs[0]:
            assert "Stopped" in out and "nothing is left running" in out
            assert "web UIs stopped with them" in out and re.search(r"\n  \S*sild demo --keep\n", out)
        deadline = time.monotonic() + 10
        while _children_alive(directory) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _children_alive(directory) == []
        assert not list((directory / "pids").glob("*.pid"))
    # the sample output docs/quickstart.md shows for `make demo` and `--keep`
    problems = quickstart.demo_problems(outputs[0], kept, dirs[1])
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("moment", ["bring-up", "later"])
def test_an_interrupted_demo_stops_everything_it_started(tmp_path, signum, moment):
    directory = tmp_path / "demo"
    proc = _sild_demo(directory)
    try:
        marker = directory / ("pids/trust-EE.pid" if moment == "bring-up" else "sandbox.json")
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the demo never got that far"
        proc.send_signal(signum)
        out = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out[-3000:]
    assert "Interrupted." in out and "nothing is left running" in out
    deadline = time.monotonic() + 10
    while _children_alive(directory) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _children_alive(directory) == []


@pytest.mark.parametrize("how", ["stdout-closed", "sigkill"])
def test_a_demo_that_dies_leaves_nothing_behind(tmp_path, how):
    """``sild demo | head`` closes the pipe; ``kill -9`` gives no chance to clean up (the watchdog does)."""
    directory = tmp_path / "demo"
    proc = _sild_demo(directory)
    try:
        deadline = time.monotonic() + 120
        while not (directory / "sandbox.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (directory / "sandbox.json").exists(), "the demo never got that far"
        if how == "sigkill":
            proc.kill()
        else:
            assert proc.stdout is not None
            proc.stdout.close()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 30
    while _children_alive(directory) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _children_alive(directory) == []
