"""Ports for sandbox servers that no other sandbox and no outgoing connection takes.

A port found free by binding to port 0 and closing is free only for a moment: the
server that is to use it starts seconds later in another process, and meanwhile an
outgoing connection (which draws from the same ephemeral range) or a second sandbox
starting at the same time can take it. So the sandbox picks ports *below* the
kernel's ephemeral range, where outgoing connections never land, and reserves each
one by creating ``<tmp>/sild-sandbox-ports/<port>`` exclusively with the reserving
process's pid: a second sandbox skips it while that process lives. A reservation of
a process that has ended is taken over, after checking that nothing listens there.
"""

from __future__ import annotations

import os
import random
import socket
import tempfile
from pathlib import Path

from gateway.errors import GatewayError

from ._pids import alive

_LOW = 20000
_DEFAULT_EPHEMERAL = (32768, 60999)


class NoFreePort(GatewayError):
    code = "gateway.sandbox.no_free_port"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL


def _candidates() -> range:
    low, high = _ephemeral_range()
    if low - _LOW >= 2000:
        return range(_LOW, low)
    return range(high + 1, 65536)  # a machine whose ephemeral range starts low


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _create(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    return True


def _claim(path: Path) -> bool:
    """Reserve ``path`` for this process, taking over a reservation whose process has ended."""
    if _create(path):
        return True
    try:
        owner = int(path.read_text() or "0")
    except (OSError, ValueError):
        owner = 0
    if owner and alive(owner):
        return False
    path.unlink(missing_ok=True)
    return _create(path)


def reserve_port(directory: Path | None = None, *, attempts: int = 500) -> int:
    """A loopback port reserved for this process (see the module docstring)."""
    folder = directory or Path(tempfile.gettempdir()) / "sild-sandbox-ports"
    folder.mkdir(parents=True, exist_ok=True)
    candidates = _candidates()
    for _ in range(attempts):
        port = random.choice(candidates)
        path = folder / str(port)
        if not _claim(path):
            continue
        if _bindable(port):
            return port
        path.unlink(missing_ok=True)  # something outside the sandbox listens there
    raise NoFreePort(f"no free loopback port between {candidates.start} and {candidates.stop - 1}")
