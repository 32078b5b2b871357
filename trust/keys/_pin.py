"""Where a token's PIN comes from when a command is not given one.

Every role (trust services, authority, gateway) reads its token PIN from one
environment variable, never from a command line (which other users of the machine
can read). Development set-ups may leave it unset: they then get the well-known
development PIN, and the operator is told so every time, because a token protected
by a published PIN protects nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

PIN_ENV = "SILD_TOKEN_PIN"
DEV_PIN = "sild-dev-pin"  # development only: production sets SILD_TOKEN_PIN
DEV_PIN_WARNING = f"{PIN_ENV} is not set: using the development PIN (never in production)"


def pin_from_environment(environ: Mapping[str, str] | None = None, *, warn: Callable[[str], None]) -> str:
    """``$SILD_TOKEN_PIN``, or :data:`DEV_PIN` after ``warn(DEV_PIN_WARNING)``."""
    pin = (os.environ if environ is None else environ).get(PIN_ENV)
    if pin:
        return pin
    warn(DEV_PIN_WARNING)
    return DEV_PIN
