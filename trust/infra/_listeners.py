"""The sild servers that serve a directory: found by what they are, not by a pid file.

Two callers ask. The sandbox records every process it starts, but an operator who
edits a node's settings and restarts it by hand (``.venv/bin/sild gateway serve
DIR/EE/gw-...``), or who adds a third country under the sandbox's directory, starts
processes that no pid file names; ``sild sandbox down`` must stop those too, and must
never stop anything else. A restore (``trust.backup``) must not replace the directory
of a node that is running, whoever started it and however. A process is taken for a
server of the directory ``root`` when all of these hold:

* it belongs to this user and listens on a TCP socket (``/proc/net/tcp*`` names the
  socket's inode, ``/proc/PID/fd`` the process holding it): an editor or a ``tail -f``
  of a log is not a server;
* its command line is a ``sild`` server command (``serve``, ``worker`` or the sandbox's
  ``backends``), run through the console script or ``gateway.cli``;
* an argument of that command, read relative to the process's working directory (a
  hand-typed command often gives a relative path), lies inside ``root``.

So the answer does not depend on how the process was started, on which port it was
given, or on a pid file having survived.
"""

from __future__ import annotations

import os
from pathlib import Path

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
_SERVER_WORDS = frozenset({"serve", "worker", "backends"})


def _listening_inodes() -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN:
                inodes.add(fields[9])
    return inodes


def _holds(pid: str, inodes: set[str]) -> bool:
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False  # gone, or another user's process
    for entry in entries:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{entry}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _argv(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _is_sild_server(argv: list[str]) -> bool:
    sild = any(a == "sild" or a.endswith("/sild") or "gateway.cli" in a for a in argv)
    return sild and bool(_SERVER_WORDS.intersection(argv))


def _names_path_inside(pid: str, argv: list[str], root: Path) -> bool:
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    for arg in argv[1:]:
        if not arg or arg.startswith("-"):
            continue
        candidate = Path(os.path.normpath(cwd / arg))  # absolute args stay as they are
        if candidate == root or root in candidate.parents:
            return True
    return False


def servers_inside(root: Path) -> list[int]:
    """Pids of the sild servers of directory ``root`` (see the module docstring), this process excepted."""
    where = Path(os.path.normpath(root)).resolve()
    inodes = _listening_inodes()
    own = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own:
            continue
        argv = _argv(entry)
        if _is_sild_server(argv) and _names_path_inside(entry, argv, where) and _holds(entry, inodes):
            found.append(int(entry))
    return sorted(found)
