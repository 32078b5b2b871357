"""API keys of sild's JSON APIs: one format, one digest, one role rule.

Both admin APIs (the gateway's and the governing authority's) authenticate callers
with random keys shown once and stored only as a SHA-256 digest, each key with a set
of roles. They used to carry two copies of this logic that had begun to drift (one
hashed strictly, one with ``surrogateescape``; one read ``Authorization`` first, the
other ``X-API-Key``). This module is the one copy; the stores keep their own tables
and the HTTP apps keep a thin Flask adapter each (``trust`` knows no web framework).

Stored formats are fixed by existing databases and must not change: a key is
``sild_`` + 43 URL-safe characters, stored as the lower-case hex SHA-256 of its
UTF-8 text.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection, Iterable

KEY_PREFIX = "sild_"
MAX_KEY_LENGTH = 200  # longer presented keys are refused before hashing


def new_api_key(token: Callable[[int], str] = secrets.token_urlsafe) -> str:
    """A fresh key (``sild_`` + 256 random bits, URL-safe base64); ``token`` is the randomness seam."""
    return KEY_PREFIX + token(32)


def api_key_digest(key: str) -> str:
    """What is stored for ``key``: the hex SHA-256 of its UTF-8 bytes.

    ``surrogateescape`` lets a header that was not valid text be hashed (and then
    simply not match) instead of failing the request.
    """
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def digest_matches(stored: str, key: str) -> bool:
    """Constant-time comparison of a stored digest with the digest of a presented key."""
    return secrets.compare_digest(stored, api_key_digest(key))


def looks_like_api_key(key: str) -> bool:
    """A cheap test before any database look-up: sild's prefix and a sane length."""
    return bool(key) and key.startswith(KEY_PREFIX) and len(key) <= MAX_KEY_LENGTH


def presented_api_key(authorization: str, x_api_key: str | None, *, bearer_first: bool) -> str:
    """The key a caller sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; ``""`` if none.

    When a request carries both headers, the one named first wins even if it is
    empty: the gateway has always read ``Authorization`` first (``bearer_first``),
    the authority ``X-API-Key``; both orders are kept so no caller sees a change.
    """
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    first, second = (bearer, x_api_key) if bearer_first else (x_api_key, bearer)
    if first is not None:
        return first
    return second or ""


def role_allows(granted: Collection[str], needed: Iterable[str], *, superuser: str) -> bool:
    """Whether a key with ``granted`` roles may make a call that needs one of ``needed``.

    ``superuser`` (``admin`` on a gateway, ``system-admin`` at the authority) may do
    everything; an empty ``needed`` means any valid key.
    """
    wanted = set(needed)
    return not wanted or superuser in granted or bool(wanted.intersection(granted))


def unknown_roles(roles: Iterable[str], known: Collection[str]) -> list[str]:
    """The roles of ``roles`` that are not in ``known``, in the order given."""
    return [role for role in roles if role not in known]
