"""UI user accounts and their sessions on a role's database: the one store both admin UIs use.

Framework-free on purpose (``trust`` knows no web framework): the Flask adapters of
the gateway and the authority read the cookie and the form, and call this store for
every decision (who is this, may they log in, is this CSRF token theirs). The rules
themselves are :mod:`._policy`'s; this module applies them to the tables of
:mod:`._schema`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from trust.infra import utc_now

from ._errors import AccountExists, AccountInvalid, AccountUnknown, LoginRefused, LoginThrottled
from ._passwords import Passwords
from ._policy import (
    MAX_SESSION_ID, Policy, csrf_token, new_session_id, session_digest, session_expiry, throttle_wait,
)
from ._roles import ROLE_NAMES, unknown_role_names
from ._schema import AccountTables

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
TOUCH_EVERY = dt.timedelta(seconds=15)  # a session's last-seen time is written at most this often


@dataclass(frozen=True)
class User:
    """One account as the UI and the CLI show it (never its hash)."""

    name: str
    roles: tuple[str, ...]
    enabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


@dataclass(frozen=True)
class Session:
    """A live session: whose it is, when it ends, and the CSRF token its forms carry."""

    user: User
    started_at: dt.datetime
    expires_at: dt.datetime
    csrf: str


@dataclass(frozen=True)
class Login:
    """A successful login: the new session's id (for the cookie, shown nowhere else) and the session."""

    session_id: str
    session: Session


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountInvalid("a user name has 1 to 64 letters, digits or . _ @ - and starts with a letter or digit")
    return name


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(roles))
    unknown = unknown_role_names(wanted)
    if unknown:
        raise AccountInvalid(f"unknown role {', '.join(unknown)} (roles: {', '.join(ROLE_NAMES)})")
    if not wanted:
        raise AccountInvalid(f"a user needs at least one role ({', '.join(ROLE_NAMES)})")
    return wanted


class Accounts:
    """Users, sessions and login throttling on one database's account tables."""

    def __init__(self, engine: Engine, tables: AccountTables, *, policy: Policy | None = None,
                 passwords: Passwords | None = None, clock: Callable[[], dt.datetime] = utc_now,
                 token: Callable[[int], str] = secrets.token_urlsafe) -> None:
        """``clock`` and ``token`` are the seams for time and randomness; ``passwords`` for cheap test hashing."""
        self.engine, self.t = engine, tables
        self.policy = policy or Policy()
        self.passwords = passwords or Passwords()
        self._clock, self._token = clock, token

    # -- users ---------------------------------------------------------------------------

    def _user(self, row: object) -> User:
        return User(row.name, tuple(row.roles.split()), bool(row.enabled), row.created_at,  # type: ignore[attr-defined]
                    row.last_login_at)  # type: ignore[attr-defined]

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [self._user(r) for r in conn.execute(select(self.t.users).order_by(self.t.users.c.name))]

    def user(self, name: str) -> User:
        """The user ``name``; :class:`AccountUnknown` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(self.t.users).where(self.t.users.c.name == name)).first()
        if row is None:
            raise AccountUnknown(f"no user {name!r}")
        return self._user(row)

    def add_user(self, name: str, password: str, roles: Iterable[str]) -> User:
        """A new enabled account; :class:`AccountExists` if the name is taken, :class:`AccountInvalid` on bad input."""
        check_name(name)
        granted = check_roles(roles)
        digest = self.passwords.hash(password)
        now = self._clock()
        with self.engine.begin() as conn:
            if conn.execute(select(self.t.users.c.name).where(self.t.users.c.name == name)).first():
                raise AccountExists(f"user {name!r} exists already")
            conn.execute(insert(self.t.users).values(
                name=name, password_hash=digest, roles=" ".join(granted), enabled=True, created_at=now,
                password_changed_at=now, last_login_at=None))
        return User(name, granted, True, now, None)

    def _change(self, name: str, revoke: bool, **values: object) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(self.t.users).where(self.t.users.c.name == name).values(**values)).rowcount
            if not done:
                raise AccountUnknown(f"no user {name!r}")
            if revoke:
                conn.execute(delete(self.t.sessions).where(self.t.sessions.c.user_name == name))

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the user ends (a changed password locks out whoever had it)."""
        self._change(name, True, password_hash=self.passwords.hash(password), password_changed_at=self._clock())

    def set_roles(self, name: str, roles: Iterable[str]) -> None:
        """New roles; they apply from the user's next request (sessions read the roles each time)."""
        self._change(name, False, roles=" ".join(check_roles(roles)))

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable an account; disabling ends its sessions."""
        self._change(name, not enabled, enabled=enabled)

    def remove_user(self, name: str) -> None:
        """Delete the account and its sessions; :class:`AccountUnknown` if there is none."""
        with self.engine.begin() as conn:
            conn.execute(delete(self.t.sessions).where(self.t.sessions.c.user_name == name))
            if not conn.execute(delete(self.t.users).where(self.t.users.c.name == name)).rowcount:
                raise AccountUnknown(f"no user {name!r}")

    # -- logins --------------------------------------------------------------------------

    def _wait(self, conn: Connection, name: str, address: str, now: dt.datetime) -> int:
        c, since = self.t.failures.c, now - self.policy.window
        by_user = [r.at for r in conn.execute(select(c.at).where(c.user_name == name, c.at > since))]
        by_address = [r.at for r in conn.execute(select(c.at).where(c.address == address, c.at > since))]
        return max(throttle_wait(by_user, now, self.policy.user_limit, self.policy.window),
                   throttle_wait(by_address, now, self.policy.address_limit, self.policy.window))

    def login(self, name: str, password: str, address: str) -> Login:
        """A new session for ``name`` if the password is right and no throttle holds.

        :class:`LoginThrottled` (with ``retry_after``) before any password check while
        too many recent failures stand; :class:`LoginRefused` with one message for an
        unknown user, a wrong password and a disabled account alike.
        """
        now, address = self._clock(), (address or "-")[:255]
        name = name[:64]
        with self.engine.begin() as conn:
            wait = self._wait(conn, name, address, now)
            if wait:
                raise LoginThrottled(f"too many failed logins: try again in {wait} seconds", wait)
            row = conn.execute(select(self.t.users).where(self.t.users.c.name == name)).first()
            check = self.passwords.verify(row.password_hash if row is not None else None, password)
            refused = not check.ok or row is None or not row.enabled
            if refused:  # recorded, and committed: the refusal is raised after the transaction
                conn.execute(insert(self.t.failures).values(user_name=name, address=address, at=now))
        if refused or row is None:
            raise LoginRefused("wrong user name or password")
        with self.engine.begin() as conn:
            values: dict[str, object] = {"last_login_at": now}
            if check.rehash:
                values["password_hash"] = self.passwords.hash(password)
            conn.execute(update(self.t.users).where(self.t.users.c.name == name).values(**values))
            conn.execute(delete(self.t.failures).where(self.t.failures.c.user_name == name))
            session_id = new_session_id(self._token)
            conn.execute(insert(self.t.sessions).values(
                id_hash=session_digest(session_id), user_name=name, started_at=now, last_seen_at=now,
                address=address))
        user = User(row.name, tuple(row.roles.split()), True, row.created_at, now)
        return Login(session_id, Session(user, now, session_expiry(self.policy, now, now), csrf_token(session_id)))

    # -- sessions ------------------------------------------------------------------------

    def session(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id`` (from the cookie), marked as used now; ``None`` if none.

        An expired session is deleted when seen; a disabled or removed user has none.
        """
        if not session_id or len(session_id) > MAX_SESSION_ID:
            return None
        now, digest = self._clock(), session_digest(session_id)
        s, u = self.t.sessions.c, self.t.users.c
        with self.engine.begin() as conn:
            row = conn.execute(select(s.started_at, s.last_seen_at, self.t.users).join(
                self.t.users, u.name == s.user_name).where(s.id_hash == digest)).first()
            if row is None:
                return None
            if now >= session_expiry(self.policy, row.started_at, row.last_seen_at) or not row.enabled:
                conn.execute(delete(self.t.sessions).where(s.id_hash == digest))
                return None
            seen = row.last_seen_at
            if now - seen >= TOUCH_EVERY:
                conn.execute(update(self.t.sessions).where(s.id_hash == digest).values(last_seen_at=now))
                seen = now
        return Session(self._user(row), row.started_at, session_expiry(self.policy, row.started_at, seen),
                       csrf_token(session_id))

    def logout(self, session_id: str | None) -> bool:
        """End the session ``session_id``; whether there was one."""
        if not session_id or len(session_id) > MAX_SESSION_ID:
            return False
        with self.engine.begin() as conn:
            gone = conn.execute(delete(self.t.sessions).where(
                self.t.sessions.c.id_hash == session_digest(session_id))).rowcount
        return bool(gone)

    def session_count(self, name: str) -> int:
        """How many sessions ``name`` has open (expired ones not yet pruned included)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.t.sessions).where(
                self.t.sessions.c.user_name == name)).scalar_one())

    def prune(self) -> int:
        """Delete sessions past their idle or absolute timeout and failures older than the window; how many rows."""
        now = self._clock()
        with self.engine.begin() as conn:
            s = self.t.sessions.c
            old = conn.execute(delete(self.t.sessions).where(or_(
                s.started_at <= now - self.policy.absolute, s.last_seen_at <= now - self.policy.idle))).rowcount
            old += conn.execute(delete(self.t.failures).where(
                self.t.failures.c.at <= now - self.policy.window)).rowcount
        return int(old)
