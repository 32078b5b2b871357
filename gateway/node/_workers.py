"""Worker processes of a gateway node: more than one core for the two proxies.

Why: a Python process runs Python code on one core at a time. A gateway's hot path
is Python (HTTP parsing, XML, the message log), so a node that is one process
leaves the other cores idle whenever its own requests queue for that one core. On a
2-core machine, the consumer and provider gateways of one exchange were each one
process and the machine sat ~20 % idle under load; with two serving processes per
gateway it is ~5 % idle and serves ~15-30 % more exchanges per second
(``bench/exchange.py``, ``docs/performance.md``).

How (the pre-forking model of classic Unix servers):

* With ``workers`` = N > 1, the main process (``sild gateway serve``) binds the IS
  ports and the mutual-TLS port but does not serve them: it starts N worker
  processes (``sild gateway worker``, hidden) that inherit the listening sockets and
  accept on them; the kernel gives each new connection to one of them. Nothing else
  can bind those ports meanwhile.
* The main process supervises them and alone runs what must happen once per node:
  configuration download, OCSP refresh of its certificates, batch timestamping,
  archiving, the admin API, X-Road's OCSP-responses port. So the jobs' CPU bursts
  (a timestamping batch builds a hash tree in Python) never hold up a request, and a
  request that crashes a worker never stops the jobs. Measured on 2 cores, REST echo
  at 8 clients: 354-400/s with the main process serving too, 399-401/s without it,
  p99 50-71 against 45-47 ms.
* A worker builds the same parts from the gateway directory, with the token PIN in
  its environment (never on its command line), and keeps them current from what the
  main process stores (:meth:`GatewayNode.sync_from_main`): the verified global
  configuration (``conf/``), the OCSP responses (``ocsp/``). The server
  configuration, the message log and its timestamping state are databases that every
  process reads and writes (SQLite in WAL mode takes writers from several processes,
  whose log commits queue on :mod:`gateway.messagelog._lock`; PostgreSQL anyway).
* The main process restarts a worker that exits, with a growing pause while one
  keeps failing, and stops them all when it stops. A worker whose parent is gone
  stops by itself, so no worker outlives its node.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from trust.keys import PIN_ENV

log = logging.getLogger("sild.gateway.workers")

#: A worker that lives shorter than this counts as failing: its restarts slow down.
HEALTHY_SECONDS = 10.0
MAX_RESTART_PAUSE = 30.0


def sild_command(*args: str) -> list[str]:
    """The ``sild`` CLI run with this interpreter (works without the console script)."""
    return [sys.executable, "-c", "from gateway.cli import main; main()", *args]


def worker_command(directory: Path, index: int, fds: Mapping[str, int]) -> list[str]:
    """The command line of worker ``index``: ``sild gateway worker DIR --index I --listen NAME=FD``."""
    listen = [arg for name, fd in sorted(fds.items()) for arg in ("--listen", f"{name}={fd}")]
    return sild_command("gateway", "worker", str(directory), "--index", str(index), *listen)


def parse_listen(values: Sequence[str]) -> dict[str, socket.socket]:
    """``NAME=FD`` options back into listening sockets (in the worker)."""
    sockets: dict[str, socket.socket] = {}
    for value in values:
        name, sep, fd_text = value.partition("=")
        if not sep or not name or not fd_text.isdigit():
            raise ValueError(f"--listen wants NAME=FD, not {value!r}")
        sock = socket.socket(fileno=int(fd_text))
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 1:
            sock.detach()
            raise ValueError(f"file descriptor {fd_text} ({name}) is not a listening socket")
        sockets[name] = sock
    return sockets


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    pause: float = 0.0
    next_start: float = 0.0
    restarts: int = 0


@dataclass
class WorkerPool:
    """``count`` worker processes serving ``sockets`` (name -> listening socket) of the node in ``directory``."""

    directory: Path
    count: int
    sockets: Mapping[str, socket.socket]
    pin: str
    on_exit: Callable[[int], None] | None = None  # called with a worker's index once it has exited
    poll_seconds: float = 0.5
    command: Callable[[Path, int, Mapping[str, int]], list[str]] = worker_command
    _slots: list[_Slot] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "WorkerPool":
        self._slots = [_Slot(index=i) for i in range(1, self.count + 1)]
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        self._thread = threading.Thread(target=self._supervise, name="sild-workers", daemon=True)
        self._thread.start()
        return self

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers running now."""
        with self._lock:
            return [s.process.pid for s in self._slots if s.process is not None and s.process.poll() is None]

    @property
    def restarts(self) -> int:
        return sum(s.restarts for s in self._slots)

    def _spawn(self, slot: _Slot) -> None:
        fds = {name: sock.fileno() for name, sock in self.sockets.items()}
        env = {**os.environ, PIN_ENV: self.pin}
        slot.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command(self.directory, slot.index, fds), pass_fds=tuple(fds.values()), env=env,
            stdin=subprocess.DEVNULL, cwd=str(Path(__file__).resolve().parents[2]))
        slot.started = time.monotonic()
        log.info("worker %d started (pid %d)", slot.index, slot.process.pid)

    def _supervise(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            now = time.monotonic()
            with self._lock:
                if self._stop.is_set():
                    return
                for slot in self._slots:
                    self._check(slot, now)

    def _check(self, slot: _Slot, now: float) -> None:
        proc = slot.process
        if proc is not None:
            code = proc.poll()
            if code is None:
                return
            lived = now - slot.started
            slot.pause = 1.0 if lived >= HEALTHY_SECONDS else min(MAX_RESTART_PAUSE, max(1.0, slot.pause * 2))
            slot.next_start = now + slot.pause
            slot.process = None
            log.warning("worker %d (pid %d) exited with %s after %.0f s; restarting in %.0f s",
                        slot.index, proc.pid, code, lived, slot.pause)
            if self.on_exit is not None:
                try:
                    self.on_exit(slot.index)
                except Exception:  # noqa: BLE001 - the supervisor must go on restarting workers
                    log.exception("after worker %d exited", slot.index)
        if now >= slot.next_start:
            slot.restarts += 1
            try:
                self._spawn(slot)
            except OSError as exc:  # e.g. out of processes: try again later
                slot.pause = min(MAX_RESTART_PAUSE, max(1.0, slot.pause * 2))
                slot.next_start = now + slot.pause
                log.warning("worker %d could not be started: %s", slot.index, exc)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every worker, wait up to ``timeout`` seconds, then SIGKILL what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            procs = [s.process for s in self._slots if s.process is not None]
            for slot in self._slots:
                slot.process = None
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %.0f s; killed", proc.pid, timeout)
                proc.kill()
                proc.wait()
