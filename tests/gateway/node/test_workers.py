"""The worker-process supervisor of a gateway node (gateway.node._workers), with real processes.

A stand-in command replaces ``sild gateway worker`` here, so the supervisor's own
behaviour (sockets handed over, restarts and their pauses, stopping) is checked
without a gateway; the sandbox tests (test_exchange.py) run real gateway workers.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from trust.keys import PIN_ENV
from gateway.node import parse_listen
from gateway.node._workers import WorkerPool, worker_command

pytestmark = pytest.mark.timeout(60)


@pytest.fixture()
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _python(code: str):
    return lambda directory, index, fds: [sys.executable, "-c", code, str(index), *(f"{k}={v}" for k, v in fds.items())]


def _wait(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_worker_command_names_the_sockets_by_descriptor():
    argv = worker_command(Path("/srv/gw"), 2, {"peer": 7, "is": 5})
    assert argv[0] == sys.executable
    assert argv[3:] == ["gateway", "worker", "/srv/gw", "--index", "2", "--listen", "is=5", "--listen", "peer=7"]


def test_parse_listen_takes_listening_sockets_only(listener):
    dup = os.dup(listener.fileno())
    sockets = parse_listen([f"is={dup}"])
    assert sockets["is"].getsockname() == listener.getsockname()
    sockets["is"].close()
    for bad in ("is", "=5", "is=x", "is=-1"):
        with pytest.raises(ValueError, match="NAME=FD"):
            parse_listen([bad])
    plain = socket.socket()  # a socket, but nobody listens on it
    try:
        with pytest.raises(ValueError, match="not a listening socket"):
            parse_listen([f"peer={plain.fileno()}"])
        assert plain.fileno() != -1  # still ours: the refusal did not close it
    finally:
        plain.close()


def test_workers_accept_on_the_inherited_socket_and_get_the_pin(listener, tmp_path):
    # each worker accepts one connection on the socket it was given and answers with its PIN
    code = ("import os, socket, sys\n"
            "fd = int(sys.argv[2].split('=')[1])\n"
            "s = socket.socket(fileno=fd)\n"
            "c, _ = s.accept()\n"
            f"c.sendall(os.environ[{PIN_ENV!r}].encode())\n"
            "c.close()\n"
            "import time; time.sleep(60)\n")
    pool = WorkerPool(tmp_path, 2, {"is": listener}, "1234", command=_python(code)).start()
    try:
        assert len(pool.pids) == 2
        answers = []
        for _ in range(2):
            with socket.create_connection(listener.getsockname(), timeout=10) as conn:
                answers.append(conn.recv(16))
        assert answers == [b"1234", b"1234"]
        assert str(1234) not in " ".join(open(f"/proc/{pool.pids[0]}/cmdline").read().split("\0"))
    finally:
        pool.stop()


def test_an_exiting_worker_is_restarted_with_growing_pauses(listener, tmp_path):
    exited: list[int] = []
    pool = WorkerPool(tmp_path, 1, {"is": listener}, "x", command=_python("import sys; sys.exit(3)"),
                      on_exit=exited.append, poll_seconds=0.05).start()
    try:
        _wait(lambda: pool.restarts >= 2)
        pause = pool._slots[0].pause  # noqa: SLF001 - the supervisor's state
        assert pause >= 2.0  # 1 s, then 2 s: a worker that keeps failing is not restarted in a tight loop
        assert exited[:2] == [1, 1]
    finally:
        pool.stop()


def test_stop_terminates_every_worker(listener, tmp_path):
    pool = WorkerPool(tmp_path, 3, {"is": listener}, "x", command=_python("import time; time.sleep(60)")).start()
    pids = pool.pids
    assert len(pids) == 3
    pool.stop(timeout=5)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    assert pool.pids == []


def test_a_worker_ignoring_sigterm_is_killed(listener, tmp_path):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    pool = WorkerPool(tmp_path, 1, {"is": listener}, "x", command=_python(code)).start()
    [pid] = pool.pids
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    pool.stop(timeout=1)
    assert time.monotonic() - started < 5
    assert not Path(f"/proc/{pid}").exists()
