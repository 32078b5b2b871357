"""Child processes of the sandbox: each in its own process group, recorded in a pid file.

``sild sandbox down`` may run in another process than ``up``, so every child is
recorded as ``DIR/pids/<name>.pid`` (pid = process group id, plus the command line
for a sanity check). Stopping sends SIGTERM to the group, waits, then SIGKILL; a pid
whose command line no longer matches (reused pid) is left alone. Servers of the
sandbox that no pid file names (restarted by hand) are found by :mod:`._listeners`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from gateway.node import sild_command as sild_command

from ._listeners import sandbox_servers
from ._pids import alive


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
    # the environment the caller added (the sandbox's token PIN) is kept for restart(); the start
    # time identifies the process even before it has exec'd and after its pid is reused
    (pids / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "argv": list(argv), "env": dict(env or {}),
                                                  "start": _start_time(proc.pid)}))
    return proc.pid


def recorded_pid(root: Path, name: str) -> int | None:
    """The pid of the process recorded as ``name`` (``None`` when none is)."""
    try:
        return int(json.loads((root / "pids" / f"{name}.pid").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _ours(data: dict[str, object], pid: int) -> bool:
    """The recorded process is still the one we started (not a reused pid)."""
    started = data.get("start")
    if started is not None:
        return _start_time(pid) == started
    cmd = _cmdline(pid)
    return cmd is not None and "gateway.cli" in cmd


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def stop_all(root: Path, *, timeout: float = 10.0, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Stop every recorded process group (but those in ``exclude``); returns the names stopped."""
    pids_dir = root / "pids"
    entries = []
    for path in sorted(pids_dir.glob("*.pid")) if pids_dir.is_dir() else []:
        if path.stem in exclude:
            continue
        try:
            data = json.loads(path.read_text())
            pid = int(data["pid"])
        except (ValueError, KeyError, OSError):
            path.unlink(missing_ok=True)
            continue
        if not _ours(data, pid):
            path.unlink(missing_ok=True)  # gone, or the pid now belongs to someone else
            continue
        entries.append((path, pid))
    for path in sorted(pids_dir.glob("*.stopped")) if pids_dir.is_dir() else []:
        path.unlink(missing_ok=True)
    for _path, pid in entries:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for _path, pid in entries:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    for _path, pid in entries:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stopped = []
    for path, pid in entries:
        while alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        stopped.append(path.stem)
        path.unlink(missing_ok=True)
    if not exclude:
        for pid in _unrecorded(root):
            _stop_group(pid, timeout)
            stopped.append(f"unrecorded-{pid}")
        servers = sandbox_servers(root)
        stop_pids(servers, timeout)
        stopped += [f"server-{pid}" for pid in servers]
    return stopped


def running(root: Path) -> list[str]:
    """What of the sandbox in ``root`` runs: recorded processes that are still ours, and
    servers started by hand (:mod:`._listeners`)."""
    names = []
    for path in sorted((root / "pids").glob("*.pid")) if (root / "pids").is_dir() else []:
        try:
            data = json.loads(path.read_text())
            pid = int(data["pid"])
        except (ValueError, KeyError, OSError):
            continue
        if alive(pid) and _ours(data, pid):
            names.append(path.stem)
    return names + [f"server-{pid}" for pid in sandbox_servers(root)]


def stop_pids(pids: Sequence[int], timeout: float = 10.0) -> None:
    """Stop single processes (not their groups: a server started by hand from a shell
    script shares the script's group): SIGTERM, a wait, then SIGKILL."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _unrecorded(root: Path) -> list[int]:
    """Process groups of sandbox servers of ``root`` that have no pid file.

    An interrupt (Ctrl-C, SIGTERM) can land between starting a child and recording
    it; such a child still names the sandbox directory on its command line (a
    ``serve`` or ``sandbox backends`` command), so it is found here rather than left
    running. The calling process's own group is never touched.
    """
    marker = str(root.resolve()) + "/"
    own_group = os.getpgid(0)
    groups: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        cmd = _cmdline(pid)
        if not cmd or "gateway.cli" not in cmd or marker not in cmd + "/":
            continue
        if " serve " not in cmd + " " and " sandbox backends " not in cmd:
            continue
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            continue
        if group != own_group and alive(pid):
            groups.add(group)
    return sorted(groups)


def _stop_group(pid: int, timeout: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)


def stop(root: Path, name: str, *, timeout: float = 10.0) -> None:
    """Stop one recorded process group; its record stays (``.stopped``) for :func:`restart`."""
    path = root / "pids" / f"{name}.pid"
    data = json.loads(path.read_text())
    pid = int(data["pid"])
    if _ours(data, pid):
        _stop_group(pid, timeout)
    path.rename(path.with_suffix(".stopped"))


def restart(root: Path, name: str) -> int:
    """Start a process stopped with :func:`stop` again, with the same command and environment."""
    stopped = root / "pids" / f"{name}.stopped"
    data = json.loads(stopped.read_text())
    pid = spawn(root, name, data["argv"], env=data.get("env") or {})
    stopped.unlink(missing_ok=True)
    return pid


WATCHDOG = "watchdog"


def watch(root: Path, owner_pid: int, *, poll: float = 1.0) -> None:
    """Stop the sandbox in ``root`` when ``owner_pid`` is gone (a test run that was killed
    before its clean-up must not leave a federation running), then exit."""
    while True:
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        if not (root / "pids").is_dir():
            return
        time.sleep(poll)
    stop_all(root, exclude=frozenset({WATCHDOG}))
    (root / "pids" / f"{WATCHDOG}.pid").unlink(missing_ok=True)
    (root / "sandbox.json").unlink(missing_ok=True)
