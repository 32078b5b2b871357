"""Taking a node out of a cluster gracefully: ``sild gateway drain DIR``.

A balancer sends a node traffic until the node's health check fails; a node that is
simply stopped or killed loses the exchanges in flight (its clients and peers see a
reset). Draining goes in three steps, driven by a marker file ``DIR/drain.json`` that
the command writes and that every process of the node (the main process and its
workers) reads once a second: a file reaches all of them without a new channel, and an
operator can see it.

1. The health port answers 503 ``draining`` (:mod:`gateway.node._healthport`), and
   every answer on the IS and mutual-TLS ports closes its connection, so that clients
   reconnect through the balancer, which stops choosing this node once its checks fail.
2. After ``grace_seconds`` (the balancer's ``inter`` x ``fall``, 2 s x 2 in the
   configuration :mod:`gateway.node._haproxy` writes, with margin) the ports stop
   accepting.
3. The exchanges in flight finish (at most ``timeout_seconds``), then the node stops.

The command waits until the node's processes have ended and removes the marker;
``sild gateway serve`` removes a stale one (a drain whose command was killed) before
it starts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gateway.settings import SetupError
from trust.infra import servers_inside, utc_now, write_atomic

DRAIN_FILE = "drain.json"
DEFAULT_GRACE_SECONDS = 8.0  # the generated HAProxy configuration checks every 2 s and takes a node out after 2 failures (<= ~6 s)
DEFAULT_TIMEOUT_SECONDS = 30.0  # an exchange waits at most this long for its backend (docs/scaling.md)


@dataclass(frozen=True)
class DrainRequest:
    """A drain asked for at ``requested_at``: ports close ``grace_seconds`` later, answers get ``timeout_seconds``."""

    requested_at: dt.datetime
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.requested_at.tzinfo is None:
            raise ValueError("a drain's moment must be timezone-aware")
        if not 0 <= self.grace_seconds <= 3600 or not 0 < self.timeout_seconds <= 3600:
            raise SetupError("drain grace and timeout are seconds from 0 to 3600 (the timeout more than 0)")

    @property
    def stops_at(self) -> dt.datetime:
        return self.requested_at + dt.timedelta(seconds=self.grace_seconds)

    def to_json(self) -> bytes:
        return json.dumps({"requested_at": self.requested_at.isoformat(), "grace_seconds": self.grace_seconds,
                           "timeout_seconds": self.timeout_seconds}).encode() + b"\n"


def read_drain(directory: Path) -> DrainRequest | None:
    """The drain asked for in ``directory``, or ``None`` (an unreadable marker still drains: it was written to)."""
    path = Path(directory) / DRAIN_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
        return DrainRequest(dt.datetime.fromisoformat(data["requested_at"]), float(data["grace_seconds"]),
                            float(data["timeout_seconds"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, SetupError):
        return DrainRequest(utc_now(), DEFAULT_GRACE_SECONDS, DEFAULT_TIMEOUT_SECONDS)


def drain_status(directory: Path) -> dict[str, Any]:
    """The part of the status report that says whether the node drains (the health verdict reads it)."""
    request = read_drain(directory)
    if request is None:
        return {"draining": False}
    return {"draining": True, "since": request.requested_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "stops_at": request.stops_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def clear_drain(directory: Path) -> None:
    """Remove the marker (a node starting, or the drain command once the node has stopped)."""
    (Path(directory) / DRAIN_FILE).unlink(missing_ok=True)


class DrainWatch:
    """What one process of a node does about a drain; its serving loop calls :meth:`poll` every second.

    ``node`` offers ``begin_drain()``. The main process stops at the request's
    ``stops_at``; a worker never stops by itself (its main process stops it, and it
    then waits ``timeout`` for its answers), so that the supervisor never sees a worker
    end early and starts another.
    """

    def __init__(self, directory: Path, node: Any, *, main: bool,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._directory = Path(directory)
        self._node = node
        self._main = main
        self._clock = clock
        self.request: DrainRequest | None = None

    @property
    def timeout(self) -> float | None:
        """How long the ports wait for answers in progress when they stop (``None``: the default, not draining)."""
        return self.request.timeout_seconds if self.request is not None else None

    def poll(self) -> bool:
        """Start draining when asked; ``True`` when this process is to stop now."""
        if self.request is None:
            self.request = read_drain(self._directory)
            if self.request is None:
                return False
            self._node.begin_drain()
        return self._main and self._clock() >= self.request.stops_at


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def request_drain(directory: Path, *, grace_seconds: float = DEFAULT_GRACE_SECONDS,
                  timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, wait: bool = True) -> list[int]:
    """Drain the node serving ``directory`` (see the module docstring); the pids of its processes.

    With ``wait`` returns once they have all ended (and removes the marker); raises
    :class:`SetupError` when no node serves the directory or it outlives its deadline.
    """
    directory = Path(directory)
    pids = servers_inside(directory)
    if not pids:
        raise SetupError(f"no node serves {directory}: nothing to drain")
    request = DrainRequest(utc_now(), grace_seconds, timeout_seconds)
    write_atomic(directory / DRAIN_FILE, request.to_json())
    if not wait:
        return pids
    deadline = time.monotonic() + grace_seconds + timeout_seconds + 30  # the workers' stop and the loop's second
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise SetupError(f"the node serving {directory} still runs past its drain's deadline "
                             f"(pids {', '.join(map(str, pids))}); {directory / DRAIN_FILE} stays until it stops")
        time.sleep(0.2)
    clear_drain(directory)
    return pids

