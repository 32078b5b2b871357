"""WAL checkpoints of an SQLite message log, in the background instead of inside commits.

In WAL mode a commit appends pages to ``messagelog.db-wal``; a *checkpoint* copies
them into the database file and fsyncs it. By default SQLite runs one inside the
commit that takes the WAL past 1,000 pages. A busy gateway's log grows by ~13 pages
per exchange (signatures carry certificates and OCSP responses), so that is several
checkpoints a second, each copying ~4 MB, and each inside a transaction that holds
the log's commit lock (:mod:`gateway.messagelog._lock`): every other writer of the
file waited for it. Measured under load: the longest hold of the lock was such a
checkpoint, 0.17-0.24 s.

:class:`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` every
``interval`` seconds on a connection of its own, outside the commit lock. A passive
checkpoint takes no lock that writers wait for: they go on appending to the WAL
while it copies, and the next writer after a complete one starts the WAL from its
beginning again. The log's connections keep an automatic checkpoint only as a
safety net (:data:`SAFETY_NET_PAGES`), for when no checkpointer runs - a worker
process, or the main process stopped.

Under steady load the WAL rarely restarts by itself: writers append while a passive
checkpoint copies, so it is seldom caught up at the moment a writer begins. The WAL
file then grows to the safety net (64 MiB), where one commit checkpoints inside its
transaction - copying only what the background checkpoints have not, a few hundred
pages - and the WAL starts over. The file keeps its size and is reused.
Measured under load (16 clients, REST echo): the longest hold of the commit lock
fell from 0.17-0.24 s to 0.05 s.

Durability does not change: each commit is still fsynced in the WAL
(``synchronous=FULL``) before it returns. PostgreSQL and in-memory SQLite need
nothing of this; the checkpointer is then a no-op.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ._lock import sqlite_file

log = logging.getLogger(__name__)

# WAL pages past which a commit checkpoints by itself (64 MiB of 4 KiB pages)
SAFETY_NET_PAGES = 16384


class WalCheckpointer:
    """Checkpoints one SQLite file every ``interval`` seconds on its own thread."""

    def __init__(self, engine: Engine, *, interval: float = 0.25) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.engine = engine
        self.interval = interval
        self.enabled = sqlite_file(engine) is not None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int, int] | None:
        """One passive checkpoint: SQLite's (busy, WAL frames, frames checkpointed), or None when disabled."""
        if not self.enabled:
            return None
        with self.engine.connect() as conn:
            row: Any = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def start(self) -> "WalCheckpointer":
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="messagelog-checkpoint", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except (SQLAlchemyError, OSError) as exc:  # the commits' safety net checkpoints meanwhile
                log.warning("message log checkpoint failed: %s", exc)
