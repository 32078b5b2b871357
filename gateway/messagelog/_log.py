"""The message log: every exchanged message, on record before its answer leaves.

What is stored per message and side (NOTES 7): the message bytes exactly as signed
(SOAP envelope, or the REST header part), the REST body as a blob, attachments, the
signature XML, a hash chain and its result when the message was signed in a batch,
``signature_hash`` (SHA-512 of the signature XML, the leaf of batch timestamps),
``query_id``, ``x_request_id``, client and service identifiers, side (client or
server proxy) and direction (request or response).

The hot path is one transaction per exchange per side: the proxy hands request and
answer to :meth:`MessageLog.append_all` once the answer is decided, and the answer
leaves only after they committed (a failed exchange's request goes alone through
:meth:`MessageLog.append`). Each commits its own transaction - shared with concurrent
appends by the group-commit writer (:mod:`gateway.messagelog._writer`), which runs
the INSERT compiled once on its own long-lived connection, so an append costs the
database's work and little Python besides - or joins the caller's when given
``connection=`` (so a proxy that records other rows in the same breath commits them
atomically); :meth:`MessageLog.exchange` groups several appends into one
transaction that commits at the end of the ``with`` block and leaves nothing if the
block fails. A single SQLite/PostgreSQL transaction means a crash at any moment
leaves either the whole record or none of it.

The log table is append-only: timestamping and archiving only insert into their own
tables (``ml_record_ts``, ``ml_record_archive``), so they never lock rows the hot path
writes (the trap X-Road fell into in 2017, DESIGN 5). Timestamping lives in
:mod:`gateway.messagelog._timestamper`; the proxy asks :meth:`MessageLog.check_accepting`
before taking a message, which refuses once timestamping has failed for longer than
the acceptable period (X-Road's 4 hours, NOTES 7 and 9.14).

The shapes of what is logged (:class:`LogEntry`, :class:`StoredRecord`, the
configuration and the errors) live in :mod:`gateway.messagelog._records`; this module
is the database side: writing, the timestamping guard, reading.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, cast

from sqlalchemy import Connection, Engine, Table, and_, func, insert, select
from sqlalchemy.engine.interfaces import DBAPICursor

from trust.infra import utc_now
from trust.protocol import ClientId, ServiceId

from gateway.db import schema as m
from ._bodies import headers_only
from ._lock import CommitLock
from ._reading import aware, read_records
from ._records import (
    STATE_FIRST_FAILURE, STATE_FLOOR, STATE_LAST_ERROR, STATE_LAST_SUCCESS, Attachment, InvalidLogEntry, LogEntry,
    MessageLogConfig, MessageLogError, RecordNotFound, StoredRecord, TimestampingOverdue,
)
from ._writer import CompiledInsert, GroupCommitWriter, supports_fast_insert

Clock = Callable[[], dt.datetime]
# the columns an append writes, in the order of MessageLog._values
RECORD_COLUMNS = (
    "logged_at", "query_id", "x_request_id", "client_id", "service_id", "side", "direction", "kind",
    "message", "body", "body_logged", "signature", "signature_hash", "hash_chain_result", "hash_chain",
    "attachments",
)
ATTACHMENT_COLUMNS = ("record_id", "position", "data")
_BODY_LOGGED = RECORD_COLUMNS.index("body_logged")
# built once: statements are immutable, and SQLAlchemy caches their compiled form
_RECORD_TABLE = cast(Table, m.LogRecord.__table__)
_ATTACHMENT_TABLE = cast(Table, m.LogAttachment.__table__)
_RECORD_INSERT = insert(_RECORD_TABLE)
_ATTACHMENT_INSERT = insert(_ATTACHMENT_TABLE)

@dataclass
class _StateCache:
    checked: float = 0.0
    first_failure: dt.datetime | None = None
    oldest_unstamped: dt.datetime | None = None
    last_success: dt.datetime | None = None


class Exchange:
    """Appends inside one open transaction (see :meth:`MessageLog.exchange`)."""

    def __init__(self, log: MessageLog, conn: Connection) -> None:
        self._log = log
        self.connection = conn
        self.record_ids: list[int] = []

    def append(self, entry: LogEntry) -> int:
        record_id = self._log.append(entry, connection=self.connection)
        self.record_ids.append(record_id)
        return record_id


class MessageLog:
    """Appends and reads message-log records on one database."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now, config: MessageLogConfig | None = None,
                 on_append: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        # told how many records each append wrote (the node's metrics count them)
        self._on_append = on_append
        self.clock = clock
        self.config = config or MessageLogConfig()
        self._state = _StateCache()
        self._state_lock = threading.Lock()
        # every writer of this process takes it: other processes' writers wait in the kernel
        self.commit_lock = CommitLock(engine)
        self._writer: GroupCommitWriter[tuple[LogEntry, ...]] | None = None
        if self.config.group_commit and supports_fast_insert(engine.dialect):
            dialect = engine.dialect
            self._record_stmt = CompiledInsert(dialect, _RECORD_TABLE, RECORD_COLUMNS, returning_id=True)
            self._attachment_stmt = CompiledInsert(dialect, _ATTACHMENT_TABLE, ATTACHMENT_COLUMNS)
            self._writer = GroupCommitWriter(engine, self._insert_direct, max_batch=self.config.max_batch,
                                             commit_lock=self.commit_lock)

    def _now(self) -> dt.datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidLogEntry("the clock returned a naive datetime")
        return moment

    # -- writing ---------------------------------------------------------------------------

    def _values(self, entry: LogEntry) -> tuple[object, ...]:
        """The ``ml_record`` row of an entry, in :data:`RECORD_COLUMNS` order."""
        policy = self.config.body_policy
        body_logged = self.config.body_logging if policy is None else policy(entry)
        return (
            entry.logged_at or self._now(),
            entry.query_id,
            entry.x_request_id,
            _typed(entry.client),
            _typed(entry.service),
            entry.side,
            entry.direction,
            entry.kind,
            entry.message if body_logged else headers_only(entry),
            entry.body if body_logged else None,
            body_logged,
            entry.signature,
            hashlib.sha512(entry.signature).digest(),
            entry.hash_chain_result,
            entry.hash_chain,
            _attachments_json(entry.attachments) if entry.attachments else "[]",
        )

    def append(self, entry: LogEntry, *, connection: Connection | None = None) -> int:
        """Store one message; returns its record id.

        Without ``connection`` the record is committed before this returns (with group
        commit, in a transaction shared with concurrent appends). With one, it is part of
        the caller's transaction and is durable when the caller commits.
        """
        if connection is not None:
            record_id = self._insert(connection, entry)  # counted when inserted: the caller commits
        elif self._writer is not None:
            record_id = self._writer.submit((entry,))
        else:
            with self.commit_lock.begin() as conn:
                record_id = self._insert(conn, entry)
        self._appended(1)
        return record_id

    def append_all(self, entries: Sequence[LogEntry]) -> int:
        """Store several messages in one transaction (all or none); returns the first record id.

        The proxies log an exchange's request and answer together once the answer is
        decided: one commit instead of two, and never one without the other.
        """
        if not entries:
            raise InvalidLogEntry("nothing to append")
        if self._writer is not None:
            first = self._writer.submit(tuple(entries))
        else:
            with self.commit_lock.begin() as conn:
                first = [self._insert(conn, e) for e in entries][0]
        self._appended(len(entries))
        return first

    def _appended(self, count: int) -> None:
        if self._on_append is not None:
            self._on_append(count)

    def close(self) -> None:
        """Let the group-commit transaction in flight commit and close its connection."""
        if self._writer is not None:
            self._writer.close()
        self.commit_lock.close()

    def _insert(self, conn: Connection, entry: LogEntry) -> int:
        """Insert through SQLAlchemy on the caller's connection (its transaction)."""
        values = self._values(entry)
        result = conn.execute(_RECORD_INSERT, dict(zip(RECORD_COLUMNS, values)))
        record_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if entry.attachments and values[_BODY_LOGGED]:
            conn.execute(
                _ATTACHMENT_INSERT,
                [{"record_id": record_id, "position": n, "data": a.data} for n, a in enumerate(entry.attachments)],
            )
        return record_id

    def _insert_direct(self, cursor: DBAPICursor, entries: tuple[LogEntry, ...]) -> int:
        """The group-commit writer's insert: the statements compiled once, on its cursor."""
        first: int | None = None
        for entry in entries:
            values = self._values(entry)
            record_id = self._record_stmt.execute(cursor, values)
            assert record_id is not None
            if entry.attachments and values[_BODY_LOGGED]:
                self._attachment_stmt.execute_many(
                    cursor, [(record_id, n, a.data) for n, a in enumerate(entry.attachments)]
                )
            first = record_id if first is None else first
        assert first is not None
        return first

    @contextmanager
    def exchange(self) -> Iterator[Exchange]:
        """``with log.exchange() as tx: tx.append(request); ...`` - all or nothing, committed at exit.

        The transaction holds the database's write lock from the first append until the
        block ends, so put only the decisions and appends inside it, never a call to a
        backend or a peer. ``tx.connection`` lets other rows (operational monitoring)
        join the same transaction; a writer with a transaction of its own would wait
        for this one's commit lock, which this thread holds, for ever.
        """
        with self.commit_lock.begin() as conn:
            yield Exchange(self, conn)

    # -- the guard the proxy calls ------------------------------------------------------------

    def _refresh_state(self, force: bool = False) -> _StateCache:
        """The timestamping state, read again when older than ``state_refresh_seconds``.

        Per message this is a clock reading and a comparison. When the state is due,
        one thread reads it; the others go on with the state it replaces (seconds old,
        against a period of hours) instead of queueing to read it once each. Without
        any state yet (start, :meth:`invalidate_state`) or with ``force``, they wait.
        """
        state = self._state
        if not force and time.monotonic() - state.checked < self.config.state_refresh_seconds:
            return state
        if not self._state_lock.acquire(blocking=force or not state.checked):
            return state
        try:
            state = self._state
            if not force and time.monotonic() - state.checked < self.config.state_refresh_seconds:
                return state  # refreshed while this thread waited
            with self.engine.connect() as conn:
                values = dict(conn.execute(select(m.LogState.key, m.LogState.value)).all())
                floor = int(values.get(STATE_FLOOR, "0"))
                oldest = conn.execute(
                    select(func.min(m.LogRecord.logged_at))
                    .select_from(m.LogRecord)
                    .outerjoin(m.LogRecordTimestamp, m.LogRecordTimestamp.record_id == m.LogRecord.id)
                    .where(and_(m.LogRecord.id > floor, m.LogRecordTimestamp.record_id.is_(None)))
                ).scalar()
            new = _StateCache(
                checked=time.monotonic(),
                first_failure=_parse_time(values.get(STATE_FIRST_FAILURE)),
                oldest_unstamped=aware(oldest),
                last_success=_parse_time(values.get(STATE_LAST_SUCCESS)),
            )
            self._state = new
            return new
        finally:
            self._state_lock.release()

    def invalidate_state(self) -> None:
        self._state = _StateCache()

    def last_timestamp_success(self) -> dt.datetime | None:
        """When a timestamping run last succeeded (any process of this log), from the cached state."""
        return self._refresh_state().last_success

    def timestamping_overdue(self, at: dt.datetime | None = None) -> bool:
        """True when timestamping has failed (or left records unstamped) longer than allowed."""
        at = at or self._now()
        state = self._refresh_state()
        limit = self.config.acceptable_failure
        if state.first_failure is not None and at - state.first_failure > limit:
            return True
        return state.oldest_unstamped is not None and at - state.oldest_unstamped > limit

    def check_accepting(self, at: dt.datetime | None = None) -> None:
        """Raise :class:`TimestampingOverdue` when the gateway must refuse new messages."""
        if self.timestamping_overdue(at):
            raise TimestampingOverdue(
                "message log timestamping has failed for longer than "
                f"{int(self.config.acceptable_failure.total_seconds())} s; messages are refused until it succeeds"
            )

    def status(self, at: dt.datetime | None = None) -> dict[str, object]:
        at = at or self._now()
        state = self._refresh_state(force=True)
        with self.engine.connect() as conn:
            values = dict(conn.execute(select(m.LogState.key, m.LogState.value)).all())
        return {
            "last_timestamp_success": state.last_success.isoformat() if state.last_success else None,
            "timestamping_failing_since": state.first_failure.isoformat() if state.first_failure else None,
            "last_timestamp_error": values.get(STATE_LAST_ERROR),
            "oldest_unstamped_record": state.oldest_unstamped.isoformat() if state.oldest_unstamped else None,
            "timestamping_overdue": self.timestamping_overdue(at),
        }

    # -- reading ---------------------------------------------------------------------------------

    def find(self, query_id: str, *, direction: str | None = None, side: str | None = None) -> list[StoredRecord]:
        """Records of one exchange, oldest first."""
        query = select(m.LogRecord.id).where(m.LogRecord.query_id == query_id)
        if direction is not None:
            query = query.where(m.LogRecord.direction == direction)
        if side is not None:
            query = query.where(m.LogRecord.side == side)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query.order_by(m.LogRecord.id)).scalars())
            return read_records(conn, ids)

    def get(self, record_id: int) -> StoredRecord:
        with self.engine.connect() as conn:
            found = read_records(conn, [record_id])
        if not found:
            raise RecordNotFound(f"no message log record {record_id}")
        return found[0]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(m.LogRecord)).scalar() or 0)


@functools.lru_cache(maxsize=4096)
def _typed(identifier: ClientId | ServiceId) -> str:
    """Typed text of an identifier, cached: the same few clients and services recur on every message."""
    return identifier.typed_text()


def _attachments_json(attachments: Sequence[Attachment]) -> str:
    """What ``ml_record.attachments`` keeps of each attachment: type, SHA-512 and size."""
    return json.dumps(
        [{"content_type": a.content_type, "sha512": hashlib.sha512(a.data).hexdigest(), "size": len(a.data)}
         for a in attachments]
    )


def _parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


__all__ = [
    "Attachment",
    "Exchange",
    "InvalidLogEntry",
    "LogEntry",
    "MessageLog",
    "MessageLogConfig",
    "MessageLogError",
    "RecordNotFound",
    "StoredRecord",
    "TimestampingOverdue",
]


