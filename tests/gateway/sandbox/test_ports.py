"""Sandbox ports: below the ephemeral range, reserved per process, never one that is in use."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from gateway.sandbox import _ports as ports


def test_ports_are_reserved_outside_the_ephemeral_range(tmp_path):
    low, high = ports._ephemeral_range()  # noqa: SLF001
    taken = {ports.reserve_port(tmp_path) for _ in range(50)}
    assert len(taken) == 50  # a reservation is never handed out twice
    assert all(not low <= p <= high for p in taken)
    assert all((tmp_path / str(p)).read_text() == str(__import__("os").getpid()) for p in taken)


def test_a_live_processs_reservation_is_skipped_a_dead_ones_taken_over(tmp_path):
    script = ("import sys; from pathlib import Path; from gateway.sandbox import _ports as ports;"
              f"print(ports.reserve_port(Path({str(tmp_path)!r})))")
    dead = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "40000").write_text(str(live.pid))
        assert not ports._claim(tmp_path / "40000")  # noqa: SLF001 - held by a live process
        assert ports._claim(tmp_path / str(dead))  # noqa: SLF001 - its process has ended
    finally:
        live.kill()
        live.wait()


def test_a_port_someone_listens_on_is_not_handed_out(tmp_path, monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        monkeypatch.setattr(ports, "_candidates", lambda: range(busy, busy + 1))
        with pytest.raises(ports.NoFreePort):
            ports.reserve_port(tmp_path, attempts=5)
        assert not (tmp_path / str(busy)).exists()
