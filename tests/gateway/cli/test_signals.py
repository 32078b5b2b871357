"""A serving command stops when SIGTERM or SIGINT arrives."""

from __future__ import annotations

import os
import signal

import pytest

from gateway.cli._signals import stop_on_signal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_signal_sets_the_stop_event(signum: int) -> None:
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = stop_on_signal()
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        assert stop.wait(5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
