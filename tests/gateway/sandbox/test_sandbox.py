"""Sandbox process handling: process groups, pid files, nothing left behind, nothing foreign killed.

(The whole sandbox is exercised by ``test_exchange.py``, which starts and stops it.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.sandbox import _processes as processes
from gateway.sandbox._orchestrate import SandboxError, up

MARK = "# gateway.cli"  # what stop_all checks in the command line


def _gone(pid: int) -> bool:
    for _ in range(100):
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().split(") ")[1].startswith("Z"):
            return True
        time.sleep(0.05)
    return False


def test_stop_all_kills_the_whole_process_group(tmp_path):
    child_file = tmp_path / "child.pid"
    code = (f"import subprocess, time; p = subprocess.Popen(['sleep', '60']); "
            f"open({str(child_file)!r}, 'w').write(str(p.pid)); time.sleep(60)  {MARK}")
    pid = processes.spawn(tmp_path, "dummy", [sys.executable, "-c", code])
    for _ in range(100):
        if child_file.exists() and child_file.read_text():
            break
        time.sleep(0.05)
    grandchild = int(child_file.read_text())
    assert json.loads((tmp_path / "pids" / "dummy.pid").read_text())["pid"] == pid
    assert processes.stop_all(tmp_path) == ["dummy"]
    assert _gone(pid) and _gone(grandchild)
    assert not list((tmp_path / "pids").glob("*.pid"))


def test_stop_all_leaves_foreign_processes_alone(tmp_path):
    foreign = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "pids").mkdir()
        (tmp_path / "pids" / "reused.pid").write_text(json.dumps({"pid": foreign.pid, "argv": ["x"]}))
        assert processes.stop_all(tmp_path) == []
        assert foreign.poll() is None
    finally:
        foreign.kill()
        foreign.wait()


def test_up_refuses_a_directory_with_a_running_sandbox(tmp_path):
    (tmp_path / "sandbox.json").write_text("{}")
    with pytest.raises(SandboxError):
        up(tmp_path)


def test_stop_and_restart_one_process(tmp_path):
    code = f"import time; time.sleep(60)  {MARK}"
    first = processes.spawn(tmp_path, "one", [sys.executable, "-c", code], env={"SILD_X": "1"})
    processes.stop(tmp_path, "one")
    assert _gone(first)
    assert (tmp_path / "pids" / "one.stopped").exists() and not (tmp_path / "pids" / "one.pid").exists()
    second = processes.restart(tmp_path, "one")
    assert second != first and not _gone(second)
    assert json.loads((tmp_path / "pids" / "one.pid").read_text())["env"] == {"SILD_X": "1"}
    assert processes.stop_all(tmp_path) == ["one"]
    assert _gone(second)


def test_watchdog_takes_the_sandbox_down_when_its_owner_ends(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    code = f"import time; time.sleep(60)  {MARK}"
    member = processes.spawn(tmp_path, "member", [sys.executable, "-c", code])
    watchdog = processes.spawn(tmp_path, processes.WATCHDOG, processes.sild_command(
        "sandbox", "watchdog", str(tmp_path), "--pid", str(owner.pid)))
    time.sleep(1.5)
    assert not _gone(member)
    owner.kill()
    owner.wait()
    assert _gone(member)  # the watchdog polls once a second; _gone waits up to 5 s
    assert _gone(watchdog)
    assert not list((tmp_path / "pids").glob("*.pid"))


_LISTEN = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
           "open('listening', 'w').write(str(s.getsockname()[1])); time.sleep(60)")


def _hand_started(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """A server as an operator starts it from a shell: no pid file, a path relative to its directory."""
    proc = subprocess.Popen([sys.executable, "-c", _LISTEN, *args], cwd=cwd, start_new_session=True)
    for _ in range(100):
        if (cwd / "listening").exists():
            break
        time.sleep(0.05)
    return proc


def test_down_stops_a_server_restarted_by_hand_and_nothing_else(tmp_path):
    node = tmp_path / "sandbox" / "EE" / "gw-70000001-gw1"
    node.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_hand = _hand_started(tmp_path / "sandbox", "sild", "gateway", "serve", "EE/gw-70000001-gw1")
    foreign = _hand_started(elsewhere, "sild", "gateway", "serve", str(elsewhere))
    try:
        stopped = processes.stop_all(tmp_path / "sandbox")
        assert stopped == [f"server-{by_hand.pid}"]
        assert by_hand.wait(timeout=5) is not None
        assert foreign.poll() is None
    finally:
        for proc in (by_hand, foreign):
            proc.kill()
            proc.wait()


def test_up_refuses_a_directory_that_holds_something_else(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SandboxError, match=r"is not empty and holds no sandbox \(no sandbox-setup.json\)"):
        up(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # nothing was built over it


def test_up_names_a_sandbox_it_cannot_start_again(tmp_path):
    (tmp_path / "EE" / "trust").mkdir(parents=True)
    with pytest.raises(SandboxError, match=r"holds a sandbox without sandbox-setup.json .* remove the directory"):
        up(tmp_path)
