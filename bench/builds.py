"""Sandboxes of this build and of a previous one, side by side, and the CPU their processes spend.

``bench/exchange.py --baseline REV`` measures the current code against ``REV`` in one
run: the figures of a shared 2-core host drift from hour to hour, so a baseline
measured yesterday says little. :func:`checkout` makes a detached git worktree of
``REV`` in a temporary directory; :func:`sandbox_up` starts a sandbox from a tree
(``PYTHONPATH`` and the working directory point at it, so every process of that
sandbox, workers included, runs that tree's code); both sandboxes then run at once
and the bench alternates between them row by row.

:func:`process_cpu` reads the CPU seconds (user + system) of every process of a
sandbox from ``/proc``, by name: the recorded process of each role (``DIR/pids``) and
its children (a gateway's worker processes), so a row can print where the CPU of an
exchange went.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
_TICKS = os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A detached worktree of ``rev`` (removed afterwards)."""
    base = Path(tempfile.mkdtemp(prefix="sild-baseline-"))
    tree = base / "sild"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


def _sild(tree: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from gateway.cli import main; main()", *args]


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def sandbox_up(tree: Path, root: Path, workers: int) -> None:
    subprocess.run(_sild(tree, "sandbox", "up", str(root), "--workers", str(workers)), check=True,
                   stdout=subprocess.DEVNULL, cwd=str(tree), env=_env(tree))


def sandbox_down(tree: Path, root: Path) -> None:
    subprocess.run(_sild(tree, "sandbox", "down", str(root)), check=False, stdout=subprocess.DEVNULL,
                   cwd=str(tree), env=_env(tree))


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def process_cpu(root: Path) -> dict[str, float]:
    """CPU seconds so far of each process of the sandbox in ``root``: ``name`` and ``name/child-pid``."""
    import json

    roles: dict[int, str] = {}
    for path in (root / "pids").glob("*.pid"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            roles[int(json.loads(path.read_text())["pid"])] = path.stem
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            got = _stat(int(entry.name))
            if got is not None:
                stats[int(entry.name)] = got
    out: dict[str, float] = {}
    for pid, (ppid, cpu) in stats.items():
        if pid in roles:
            out[roles[pid]] = cpu
        elif ppid in roles and "python" in (_cmd(pid) or ""):
            out[f"{roles[ppid]}/worker"] = out.get(f"{roles[ppid]}/worker", 0.0) + cpu
    return out


def _cmd(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after if after[name] - before.get(name, 0.0) > 0}


def settle(seconds: float = 10.0) -> None:
    """Let a fresh sandbox's start-up jobs finish (downloads, OCSP, first timestamping)."""
    time.sleep(seconds)
