"""A lease: at most one process of several sharing one database acts at a time.

Why: several nodes of one role share a database (two authority nodes on one registry,
the nodes of a gateway cluster on one server configuration). Some work must be done
by one node at a time: generating and signing the configuration, for instance, where
two nodes would publish two generations with the same serial. The node that holds the
lease does that work; the others serve, and take over when the holder goes away.

How: on PostgreSQL a *session-level advisory lock* (``pg_try_advisory_lock``) on a
connection of its own, which the lease keeps open while it holds the lock. The
server releases such a lock when the session ends, so a holder killed with SIGKILL,
a machine that lost power or a network cut frees the lease as soon as PostgreSQL
notices the dead connection (at once for a killed process on a live host; after TCP
keepalive for a vanished host). No table, no expiry times, no clock between nodes,
nothing to migrate. :meth:`Lease.acquire` is called on every tick of a node's job: the
holder checks that its session still holds the lock (a database restart or a
fail-over to a standby ends the session, and with it the lease), the others try to
take it. The holder keeps it while it lives (no flapping between nodes).

On SQLite there is one node (the database is a file of one machine; processes on it
serialise their writes with the file's own lock and, for the authority, the
generator's ``flock``), so the lease is always held there.

The lock's key is a 64-bit number derived from the lease's name (SHA-256), so every
process that names the same lease contends for the same lock. The holding session
carries the holder (host and process id unless named) in its ``application_name``
(``sild lease HOLDER``, cut at PostgreSQL's 63 bytes), so :meth:`Lease.holder` (and an
operator's ``pg_stat_activity``) says who holds it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("sild.lease")
_APP_PREFIX = "sild lease "  # application_name of a holding session: this, then the holder (63 bytes at most)

_HOLDER_QUERY = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :classid AND l.objid = :objid "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_MINE_QUERY = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
    "AND classid = :classid AND objid = :objid AND objsubid = 1"
)


def lease_key(name: str) -> int:
    """The advisory lock's key of lease ``name``: a signed 64-bit number (PostgreSQL's ``bigint``)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _key_parts(key: int) -> dict[str, int]:
    """``pg_locks`` shows a ``bigint`` advisory key as two unsigned 32-bit halves."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"classid": unsigned >> 32, "objid": unsigned & 0xFFFFFFFF}


class Lease:
    """The lease ``name`` among the processes that share ``engine``'s database.

    Thread-safe; one instance per process and lease. :meth:`close` (or the end of the
    process) releases it.
    """

    def __init__(self, engine: Engine, name: str, *, holder: str | None = None) -> None:
        if not name:
            raise ValueError("a lease needs a name")
        self.engine = engine
        self.name = name
        self.key = lease_key(name)
        self.holder_name = holder or f"{socket.gethostname()}:{os.getpid()}"
        self._shared = engine.dialect.name == "postgresql"
        self._conn: Any = None  # the session that holds the lock (PostgreSQL only)
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """True when other machines' processes may contend (a server database); False on SQLite."""
        return self._shared

    def acquire(self) -> bool:
        """Hold the lease: keep it if this process still holds it, else try to take it (never waits).

        A database error (server down, fail-over under way) is no exception here: it
        means the lease is not held now, and the next call tries again.
        """
        if not self._shared:
            return True
        with self._lock:
            if self._conn is not None and self._still_mine():
                return True
            self._drop()
            try:
                conn = self.engine.connect()
            except SQLAlchemyError as exc:
                log.warning("lease %s: database unreachable (%s)", self.name, type(exc).__name__)
                return False
            try:
                conn.execute(text("SELECT set_config('application_name', :name, false)"),
                             {"name": f"{_APP_PREFIX}{self.holder_name}"[:63]})
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
                conn.commit()
            except SQLAlchemyError as exc:
                log.warning("lease %s: cannot ask the database (%s)", self.name, type(exc).__name__)
                conn.invalidate()
                conn.close()
                return False
            if not got:
                conn.execute(text("SELECT set_config('application_name', '', false)"))
                conn.commit()
                conn.close()  # back to the pool, holding nothing
                return False
            self._conn = conn
            log.info("lease %s taken by %s", self.name, self.holder_name)
            return True

    def _still_mine(self) -> bool:
        """Does the holding session still exist and hold the lock? (A restarted server ended both.)"""
        try:
            count = self._conn.execute(_MINE_QUERY, _key_parts(self.key)).scalar()
            self._conn.commit()
        except SQLAlchemyError:
            log.warning("lease %s lost: its database session ended", self.name)
            return False
        if not count:
            log.warning("lease %s lost: its session no longer holds the lock", self.name)
        return bool(count)

    def _drop(self) -> None:
        """Forget the holding session; a dead one is thrown away, a live one closed (which releases the lock)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()
            conn.close()
        except SQLAlchemyError:
            conn.invalidate()
            conn.close()

    @property
    def held(self) -> bool:
        """Whether this process held the lease at its last :meth:`acquire` (no database round trip)."""
        return not self._shared or self._conn is not None

    def holder(self) -> str | None:
        """Who holds the lease now (``host:pid``, or the name given), or None when nobody does.

        On SQLite it is this process. A database error gives None: nobody can be shown to hold it.
        """
        if not self._shared:
            return self.holder_name
        prefix = _APP_PREFIX
        try:
            with self.engine.connect() as conn:
                names = list(conn.execute(_HOLDER_QUERY, _key_parts(self.key)).scalars())
        except SQLAlchemyError:
            return None
        for name in names:
            return str(name)[len(prefix):] if str(name).startswith(prefix) else str(name)
        return None

    def release(self) -> None:
        """Give the lease up (another node may take it at its next try)."""
        with self._lock:
            self._drop()

    close = release
