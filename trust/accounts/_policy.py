"""Session ids, CSRF tokens, timeouts and login throttling: the rules, as pure functions.

Kept apart from the store so that each rule is tested on its own with plain values.

* A **session id** is 256 random bits; the store keeps only its SHA-256, so the id in
  the browser's cookie is the only copy that opens the session.
* A **CSRF token** is an HMAC of the session id: bound to the session (another
  session's token does not pass), nothing more to store, and a page of another site
  cannot compute it because it cannot read the HttpOnly cookie. It is compared in
  constant time.
* A session ends after ``idle`` without a request and after ``absolute`` whatever
  happens (X-Road's UI also signs users out when idle).
* **Throttling**: after ``user_limit`` failed logins for one user name within
  ``window`` (or ``address_limit`` from one address), further logins are refused
  without checking the password until enough failures age out of the window. A
  refused login is not counted again, so a guesser cannot extend the lock forever by
  hammering, and the rightful user gets in once the window has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_SESSION_ID = 128  # longer presented ids are refused before hashing


@dataclass(frozen=True)
class Policy:
    """How long sessions live and how many failed logins are tolerated."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    window: dt.timedelta = dt.timedelta(minutes=15)
    user_limit: int = 5
    address_limit: int = 30


def new_session_id(token: Callable[[int], str] = secrets.token_urlsafe) -> str:
    """A fresh session id (256 random bits, URL-safe); ``token`` is the randomness seam."""
    return token(32)


def session_digest(session_id: str) -> str:
    """What the store keeps of a session id: its hex SHA-256."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of the session ``session_id`` (put in every form of its pages)."""
    return hmac.new(session_id.encode("utf-8", "surrogateescape"), b"sild ui csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str, presented: str | None) -> bool:
    """Whether ``presented`` is the CSRF token of ``session_id`` (constant time; missing never matches)."""
    if not presented or not session_id:
        return False
    return secrets.compare_digest(csrf_token(session_id).encode("ascii"),
                                  presented.encode("utf-8", "surrogateescape"))


def session_expiry(policy: Policy, started: dt.datetime, last_seen: dt.datetime) -> dt.datetime:
    """When a session started at ``started`` and last used at ``last_seen`` ends."""
    return min(last_seen + policy.idle, started + policy.absolute)


def throttle_wait(failures: Sequence[dt.datetime], now: dt.datetime, limit: int, window: dt.timedelta) -> int:
    """Seconds to wait before the next login may be tried, given the failure times in the window (0: go).

    The lock holds while ``limit`` or more failures lie within ``window`` before
    ``now``; it lifts when the ``limit``-th newest of them leaves the window.
    """
    recent = sorted((at for at in failures if now - at < window), reverse=True)
    if len(recent) < limit:
        return 0
    opens = recent[limit - 1] + window
    return max(1, math.ceil((opens - now).total_seconds()))
