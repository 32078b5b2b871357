"""Child processes of the sandbox: each in its own process group, recorded in a pid file.

``sild sandbox down`` may run in another process than ``up``, so every child is
recorded as ``DIR/pids/<name>.pid`` (pid = process group id, plus the command line
for a sanity check). Stopping sends SIGTERM to the group, waits, then SIGKILL; a pid
whose command line no longer matches (reused pid) is left alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence


def sild_command(*args: str) -> list[str]:
    """The ``sild`` CLI run with this interpreter (works without the console script)."""
    return [sys.executable, "-c", "from gateway.cli import main; main()", *args]


def spawn(root: Path, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> int:
    logs = root / "logs"
    pids = root / "pids"
    logs.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(logs / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=full_env, start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]))
    (pids / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "argv": list(argv)}))
    return proc.pid


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _alive(pid: int) -> bool:
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


def stop_all(root: Path, *, timeout: float = 10.0) -> list[str]:
    """Stop every recorded process group; returns the names stopped."""
    pids_dir = root / "pids"
    if not pids_dir.is_dir():
        return []
    entries = []
    for path in sorted(pids_dir.glob("*.pid")):
        try:
            data = json.loads(path.read_text())
            pid = int(data["pid"])
        except (ValueError, KeyError, OSError):
            path.unlink(missing_ok=True)
            continue
        cmd = _cmdline(pid)
        if cmd is None or "gateway.cli" not in cmd:
            path.unlink(missing_ok=True)  # gone, or the pid now belongs to someone else
            continue
        entries.append((path, pid))
    for _path, pid in entries:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for _path, pid in entries:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    for _path, pid in entries:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stopped = []
    for path, pid in entries:
        while _alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        stopped.append(path.stem)
        path.unlink(missing_ok=True)
    return stopped


def _record(root: Path, name: str) -> dict[str, object]:
    try:
        data = json.loads((root / "pids" / f"{name}.pid").read_text())
    except (OSError, ValueError) as exc:
        raise ProcessLookupError(f"no sandbox process {name!r} in {root}") from exc
    return dict(data)


def stop(root: Path, name: str, *, timeout: float = 10.0) -> None:
    """Stop one process (SIGTERM, then SIGKILL) but keep its record, so :func:`restart` can bring it back."""
    pid = int(str(_record(root, name)["pid"]))
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while _alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)


def restart(root: Path, name: str, *, env: dict[str, str] | None = None) -> int:
    """Start a stopped process again with the command line it was recorded with."""
    argv = _record(root, name)["argv"]
    if not isinstance(argv, list):
        raise ProcessLookupError(f"sandbox process {name!r} has no recorded command line")
    pin = _sandbox_pin(root)
    full_env = {"SILD_TOKEN_PIN": pin} if pin else {}
    full_env.update(env or {})
    return spawn(root, name, [str(a) for a in argv], env=full_env)


def _sandbox_pin(root: Path) -> str | None:
    try:
        return str(json.loads((root / "sandbox.json").read_text())["pin"])
    except (OSError, ValueError, KeyError):
        return None
