"""Whether a process id still names a living process.

Two records of the sandbox outlive the process that wrote them: port reservations
(:mod:`._ports`) and the pid files of its children (:mod:`._processes`). Both ask the
same question before trusting a recorded pid, so it is answered here once: a pid that
cannot be signalled is gone, one owned by another user is alive, and a zombie (a
child that has ended but not been reaped) counts as gone.
"""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """``pid`` names a running process (not a zombie); reaps it if it is an ended child of ours."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process counts as gone once reaped
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        status = Path(f"/proc/{pid}/stat")
        try:
            return status.read_text().split(") ")[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
