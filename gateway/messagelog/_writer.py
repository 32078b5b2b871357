"""Group commit for the message log: many proxy threads, one transaction, one fsync.

With ``synchronous=FULL`` every SQLite commit waits for the disk (an fsync), and
SQLite lets one writer commit at a time, so threads that each commit their own
record queue behind each other's fsyncs. Here concurrent appends share one
transaction, and the promise of :meth:`gateway.messagelog._log.MessageLog.append` is
unchanged: a caller returns only *after the transaction holding its record has
committed* (durable as the connection's ``synchronous`` mode makes it).

How, and why so (the log is ~a quarter of a gateway's CPU per exchange otherwise):

* **Leader/follower instead of a writer thread.** A caller queues its record and
  takes the write lock; whoever holds it is the *leader*: it drains the queue
  (its own record and every record queued meanwhile), writes them in one
  transaction and marks each done. Callers that queued while the leader was in
  its fsync wait on the lock; when they get it their record is usually done
  already and they return; if not, they lead the next batch. A lone caller thus
  writes inline - no hand-off to another thread and back, no Event - and under
  load the batches form by themselves. The lock keeps the one-writer discipline:
  one thread at a time uses the writer's connection.
* **One long-lived DB-API connection** owned by the writer (taken from the
  engine, so the engine's connect hooks - SQLite pragmas - apply, then detached
  from the pool), and statements compiled once per dialect by SQLAlchemy
  (:class:`CompiledInsert`): per record the cost is the driver's ``execute`` and
  the column types' bind processors, not a pool check-out, a SQLAlchemy
  execution context and a compile-cache look-up.
* The transaction is explicit on every driver (SQLite ``BEGIN IMMEDIATE`` with
  the module's implicit transactions off; PostgreSQL's implicit one), so a batch
  is all-or-nothing whatever the engine's settings.

A batch that fails is rolled back and each of its records is retried in a
transaction of its own, so one bad record cannot fail its neighbours; whoever's
record still fails gets the error. A connection whose rollback fails (the server
went away) is dropped, and the transaction that found it dead runs again on a
fresh one (only when its commit had not been sent: then nothing of it can exist).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar

from sqlalchemy import Engine, Table, insert
from sqlalchemy.engine.interfaces import DBAPICursor, Dialect
from sqlalchemy.exc import SQLAlchemyError

from trust.errors import SildError

from gateway.errors import GatewayError
from ._lock import CommitLock

log = logging.getLogger(__name__)
T = TypeVar("T")


class MessageLogWriteFailed(GatewayError):
    code = "gateway.messagelog.write_failed"


def supports_fast_insert(dialect: Dialect) -> bool:
    """True for the dialects :class:`CompiledInsert` and :class:`GroupCommitWriter` drive directly."""
    return dialect.name == "sqlite" or (dialect.name == "postgresql" and bool(dialect.insert_returning))


class CompiledInsert:
    """``INSERT INTO table (columns...)`` compiled once for a dialect, run on a DB-API cursor.

    SQLAlchemy compiles the statement (quoting, paramstyle, PostgreSQL's bind casts)
    and supplies each column type's bind processor (e.g. ``UtcDateTime`` to the
    dialect's datetime form), so a row is stored exactly as ``conn.execute(insert(...))``
    would store it; only the per-call machinery is skipped. ``returning_id`` gives
    the new primary key: SQLite's ``lastrowid``, elsewhere ``RETURNING id``.
    """

    def __init__(self, dialect: Dialect, table: Table, columns: Sequence[str], *, returning_id: bool = False) -> None:
        if not supports_fast_insert(dialect):
            raise ValueError(f"no direct insert for the {dialect.name} dialect")
        self.columns = tuple(columns)
        self.returning_id = returning_id
        self._lastrowid = dialect.name == "sqlite"
        stmt = insert(table)
        if returning_id and not self._lastrowid:
            stmt = stmt.returning(table.c.id)
        compiled = stmt.compile(dialect=dialect, column_keys=list(self.columns))
        self.sql = compiled.string
        processors = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.columns
        }
        self._processors = [(self.columns.index(n), p) for n, p in processors.items() if p is not None]
        self._positional = bool(compiled.positional)
        if self._positional:
            names = list(compiled.positiontup or ())
            if sorted(names) != sorted(self.columns):
                raise ValueError(f"unexpected parameters in the compiled insert: {names}")
            self._order = [self.columns.index(n) for n in names]

    def params(self, values: Sequence[Any]) -> Sequence[Any] | Mapping[str, Any]:
        """Driver parameters for one row given in ``columns`` order."""
        if self._processors:
            values = list(values)
            for i, process in self._processors:
                values[i] = process(values[i])
        if self._positional:
            return [values[i] for i in self._order]
        return dict(zip(self.columns, values))

    def execute(self, cursor: DBAPICursor, values: Sequence[Any]) -> int | None:
        """Insert one row; its id when ``returning_id``."""
        cursor.execute(self.sql, self.params(values))
        if not self.returning_id:
            return None
        if self._lastrowid:
            return int(cursor.lastrowid)
        row = cursor.fetchone()
        if row is None:
            raise MessageLogWriteFailed("the database returned no id for an inserted row")
        return int(row[0])

    def execute_many(self, cursor: DBAPICursor, rows: Sequence[Sequence[Any]]) -> None:
        cursor.executemany(self.sql, [self.params(r) for r in rows])  # type: ignore[arg-type]


class _Pending(Generic[T]):
    """One queued item; ``signal`` (a follower's) is released once: when done, or when made leader."""

    __slots__ = ("item", "signal", "done", "lead", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.signal: Any = None
        self.done = False
        self.lead = False
        self.result: int | None = None
        self.error: BaseException | None = None


class GroupCommitWriter(Generic[T]):
    """Runs ``insert(cursor, item) -> id`` for queued items in shared transactions.

    ``insert`` gets a DB-API cursor of the writer's connection, inside the open
    transaction; it must only insert (the writer commits or rolls back).
    """

    def __init__(
        self,
        engine: Engine,
        insert: Callable[[DBAPICursor, T], int],
        *,
        max_batch: int = 256,
        wait_seconds: float = 60.0,
        commit_lock: CommitLock | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be positive")
        if not supports_fast_insert(engine.dialect):
            raise ValueError(f"group commit is not available on the {engine.dialect.name} dialect")
        self.engine = engine
        self.insert = insert
        self.max_batch = max_batch
        self.wait_seconds = wait_seconds
        self._sqlite = engine.dialect.name == "sqlite"
        # shared with the log's other writers, and then closed by its owner, the log
        self._commit_lock = commit_lock or CommitLock(engine)
        self._owns_lock = commit_lock is None
        self._errors: tuple[type[BaseException], ...] = (
            engine.dialect.loaded_dbapi.Error, SQLAlchemyError, SildError, OSError, ValueError, TypeError,
        )
        # the queue, the leader flag and the closed flag change together, under this lock
        self._lock = threading.Lock()
        self._queue: collections.deque[_Pending[T]] = collections.deque()
        self._leading = False  # a leader is writing; only it touches the connection
        self._new_signal: Callable[[], Any] = threading.Lock  # a waiting caller's; released once
        self._closed = False
        self._connection: Any = None
        self._cursor: Any = None
        self.batches = 0
        self.records = 0

    def submit(self, item: T) -> int:
        """Write ``item`` and return its id once its transaction has committed."""
        pending: _Pending[T] = _Pending(item)
        with self._lock:
            if self._closed:
                raise MessageLogWriteFailed("the message log writer is closed")
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                signal = self._new_signal()
                signal.acquire()
                pending.signal = signal
            self._queue.append(pending)
        if not lead:
            try:
                woken = pending.signal.acquire(timeout=self.wait_seconds)
            except BaseException:  # interrupted: leave no lead stranded with this thread
                self._abandon(pending)
                raise
            if not woken:
                with self._lock:
                    if not pending.lead and not pending.done:
                        try:
                            self._queue.remove(pending)
                        except ValueError:  # in a transaction right now: it may still commit
                            pass
                        raise MessageLogWriteFailed(f"the message log did not commit within {self.wait_seconds:.0f} s")
        if not pending.done:  # the first caller, or made leader by the previous one
            self._lead(pending)
        if pending.error is not None:
            if isinstance(pending.error, SildError):
                raise pending.error
            raise MessageLogWriteFailed(
                f"could not write the message log: {pending.error.__class__.__name__}: {pending.error}"
            ) from pending.error
        assert pending.result is not None
        return pending.result

    def close(self, timeout: float = 10.0) -> None:
        """Let queued records commit, refuse new ones, close the connection."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                idle = not self._leading
                if idle or time.monotonic() > deadline:
                    self._closed = True
                    self._leading = True  # nobody leads any more
                    break
            time.sleep(0.005)
        if idle:
            self._drop_connection()
            if self._owns_lock:
                self._commit_lock.close()
        else:
            log.warning("message log writer still busy after %.0f s; closed without waiting", timeout)

    # -- the leader's part: one leader at a time, so one user of the connection ---------------

    def _lead(self, own: _Pending[T]) -> None:
        """Write batches until ``own`` is written, then pass the lead to the oldest queued caller."""
        own.signal = None
        try:
            while not own.done:
                self._write(self._drain())
        finally:
            with self._lock:
                if self._queue and self._queue[0] is own:  # only after an exception escaped before its write
                    self._queue.popleft()
                self._pass_lead()

    def _pass_lead(self) -> None:
        """Make the oldest queued caller the leader, or note that nobody leads (under ``_lock``)."""
        if self._queue:
            successor = self._queue[0]
            successor.lead = True
            successor.signal.release()
        else:
            self._leading = False

    def _abandon(self, pending: _Pending[T]) -> None:
        """A waiting caller gives up: withdraw its item, and pass the lead on if it was just given it."""
        with self._lock:
            if pending.done:
                return
            try:
                self._queue.remove(pending)
            except ValueError:  # in a transaction right now
                return
            if pending.lead:
                self._pass_lead()

    def _drain(self) -> list[_Pending[T]]:
        batch: list[_Pending[T]] = []
        with self._lock:
            queue = self._queue
            while queue and len(batch) < self.max_batch:
                batch.append(queue.popleft())
        return batch

    def _connect(self) -> tuple[Any, DBAPICursor]:
        if self._connection is None:
            pooled = self.engine.raw_connection()  # the engine's connect hooks (pragmas) have run
            pooled.detach()  # owned by this writer from now on: closed, not returned to the pool
            dbapi: Any = pooled.dbapi_connection
            if self._sqlite:
                dbapi.isolation_level = None  # no implicit transactions: begun explicitly below
            elif getattr(dbapi, "autocommit", False):
                dbapi.autocommit = False
            self._connection = pooled
            self._cursor = dbapi.cursor()
        return self._connection.dbapi_connection, self._cursor

    def _drop_connection(self) -> None:
        conn, self._connection, self._cursor = self._connection, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("closing the message log connection failed", exc_info=True)

    def _transaction(self, batch: list[_Pending[T]], *, reconnect: bool = True) -> list[int]:
        """Insert the batch in one transaction and commit; rolled back entirely on any error.

        A connection found dead before the commit was sent (the server restarted, the
        session was killed) is replaced and the transaction run once more on the new
        one; after the commit was sent the outcome is unknown, so the error stands.
        """
        dbapi, cursor = self._connect()
        committing = False
        lost: BaseException | None = None
        with self._commit_lock:  # other processes writing this file wait in the kernel, not in sleeps
            try:
                if self._sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                insert = self.insert
                ids = [insert(cursor, p.item) for p in batch]
                committing = True
                dbapi.commit()
                return ids
            except BaseException as exc:
                try:
                    dbapi.rollback()
                except Exception:  # noqa: BLE001 - the connection is unusable: take a fresh one
                    self._drop_connection()
                    if not (reconnect and not committing and isinstance(exc, self._errors)):
                        raise
                    lost = exc
                else:
                    raise
        log.warning("message log connection lost (%s); reconnecting", lost)
        return self._transaction(batch, reconnect=False)

    def _write(self, batch: list[_Pending[T]]) -> None:
        if not batch:
            return
        try:
            ids = self._transaction(batch)
        except self._errors as exc:
            if len(batch) == 1:
                self._finish(batch[0], None, exc)
                return
            log.warning("message log batch of %d failed (%s); writing its records one by one", len(batch), exc)
            for p in batch:
                self._write([p])
            return
        except BaseException as exc:  # never leave a caller waiting
            for p in batch:
                self._finish(p, None, exc)
            raise
        self.batches += 1
        self.records += len(batch)
        for p, record_id in zip(batch, ids):
            self._finish(p, record_id, None)

    @staticmethod
    def _finish(pending: _Pending[T], result: int | None, error: BaseException | None) -> None:
        pending.result = result
        pending.error = error
        pending.done = True
        if pending.signal is not None:  # a follower waiting for news
            pending.signal.release()
