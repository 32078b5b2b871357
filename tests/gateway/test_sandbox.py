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

from gateway.sandbox import processes
from gateway.sandbox.orchestrate import SandboxError, up

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
