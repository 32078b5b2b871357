"""A recorded pid is trusted only while it names a living process."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.sandbox._pids import alive


def test_this_process_is_alive():
    assert alive(os.getpid())


def test_a_running_child_is_alive_an_ended_one_is_not_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    assert alive(child.pid)
    assert child.stdin is not None
    child.stdin.close()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, still a zombie
    assert not alive(child.pid)  # and reaped by the check


def test_a_finished_process_is_gone():
    pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                         check=True).stdout
    assert not alive(int(pid))
