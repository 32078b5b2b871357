"""Group commit for the message log: many proxy threads, one transaction, one fsync.

With ``synchronous=FULL`` every SQLite commit waits for the disk (an fsync; ~1.4 ms on
the reference VM's disk), and SQLite lets one writer commit at a time, so threads
that each commit their own record queue behind each other's fsyncs. The writer here
turns N concurrent appends into one transaction: each caller hands its record to a
single writer thread and *waits until the transaction holding it has committed*, so
the promise of :meth:`gateway.messagelog.MessageLog.append` is unchanged - the record
is durable before the proxy goes on - while the disk is flushed once per batch.

A batch is all-or-nothing (one transaction). If it fails, every record of it is
retried in a transaction of its own, so one bad record cannot fail its neighbours;
whoever's record still fails gets the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from trust.errors import SildError

from .errors import GatewayError

log = logging.getLogger(__name__)
T = TypeVar("T")


class MessageLogWriteFailed(GatewayError):
    code = "gateway.messagelog.write_failed"


class _Pending(Generic[T]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.result: int | None = None
        self.error: BaseException | None = None


_STOP = object()


class GroupCommitWriter(Generic[T]):
    """Runs ``insert(connection, item) -> id`` for queued items in shared transactions."""

    def __init__(
        self,
        engine: Engine,
        insert: Callable[[Connection, T], int],
        *,
        max_batch: int = 256,
        wait_seconds: float = 60.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be positive")
        self.engine = engine
        self.insert = insert
        self.max_batch = max_batch
        self.wait_seconds = wait_seconds
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0
        self.records = 0

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._closed:
                raise MessageLogWriteFailed("the message log writer is closed")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sild-messagelog-writer", daemon=True)
                self._thread.start()

    def submit(self, item: T) -> int:
        """Queue ``item`` and return its id once its transaction has committed."""
        self._ensure_thread()
        pending: _Pending[T] = _Pending(item)
        self._queue.put(pending)
        if not pending.done.wait(self.wait_seconds):
            raise MessageLogWriteFailed(f"the message log did not commit within {self.wait_seconds:.0f} s")
        if pending.error is not None:
            if isinstance(pending.error, SildError):
                raise pending.error
            raise MessageLogWriteFailed(f"could not write the message log: {pending.error.__class__.__name__}") from pending.error
        assert pending.result is not None
        return pending.result

    def close(self, timeout: float = 10.0) -> None:
        """Let queued records commit, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout)

    # -- the writer thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Pending[T]] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)  # type: ignore[arg-type]
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending[T]]) -> None:
        try:
            with self.engine.begin() as conn:
                ids = [self.insert(conn, p.item) for p in batch]
        except (SQLAlchemyError, SildError, OSError, ValueError) as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            log.warning("message log batch of %d failed (%s); writing its records one by one", len(batch), exc)
            for p in batch:
                self._write([p])
            return
        except BaseException as exc:  # never leave a caller waiting
            for p in batch:
                p.error = exc
                p.done.set()
            raise
        self.batches += 1
        self.records += len(batch)
        for p, record_id in zip(batch, ids):
            p.result = record_id
            p.done.set()
