"""The one place in sild that reads the wall clock.

Everything that depends on the time (certificate validity, OCSP freshness, timestamps,
configuration expiry, message-log batching) takes the moment as a parameter: ``at=``
or ``now=`` for a single decision, a ``clock`` callable for an object that decides
repeatedly. Tests and simulations pass their own moment or clock; only the process
edges (CLI commands, servers, schedulers) default to :func:`utc_now`, so there is one
definition of "now" and it is always aware UTC, never a naive local time.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current moment as an aware UTC datetime (the default ``clock`` of sild's edges)."""
    return dt.datetime.now(dt.timezone.utc)
