"""How a long-running ``sild`` command learns that it is to stop.

``sild gateway serve``, its worker processes and the sandbox's backends process all
run until SIGTERM (``sild sandbox down``, a service manager) or SIGINT (Ctrl-C), then
shut their servers down in a ``finally``. The handlers only set an event that the
command's main thread waits on, so the shutdown itself never runs inside a handler.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signal() -> threading.Event:
    """An event that SIGTERM or SIGINT sets from now on (in place of their previous handlers)."""
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return stop
