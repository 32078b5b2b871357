"""The audit log of administrative actions: one append-only, hash-chained table per role.

Both roles (a gateway, a governing authority) answer the same questions about every
change an operator made: who (an API key's name, the OS user of a CLI command), what
(the operation, its target, its parameters that are not secret), when, from where
(the client's address, or ``cli`` with host and terminal), and the outcome (``ok`` or
the error code). The mechanism is one: each role declares its table with
:class:`AuditColumns`, creates it with :func:`create_audit_table` in its migration,
and writes and reads it through :class:`AuditLog`.

Why these rules:

* **No secret is ever stored.** Parameters pass :func:`redact` first: a value whose
  name says it is a secret (PIN, passphrase, password, secret, private key, API key)
  becomes ``[redacted]``, and so does any value that looks like a sild API key or a
  PEM private key whatever its name, because a secret put under an innocent name
  must not slip through. Values are cut to a bounded size.
* **Append-only.** Nothing in sild updates or deletes a row; the migration adds
  triggers that abort ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on PostgreSQL), so
  a mistaken statement fails instead of rewriting history.
* **Tampering is detectable.** Someone with the database file can drop the triggers;
  each row therefore stores the SHA-256 of its content and of the previous row's
  hash (:meth:`AuditLog.verify` recomputes the chain). An append takes the table's
  write lock *before* it reads the previous hash, so two concurrent writers cannot
  fork the chain. Removing the newest rows leaves a valid shorter chain: the chain
  proves the order and content of what remains, not that nothing was cut off the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, cast

from sqlalchemy import Connection, Engine, FromClause, Integer, String, Table, Text, insert, select, text
from sqlalchemy.orm import Mapped, mapped_column

from ._apikeys import KEY_PREFIX
from ._db import UtcDateTime

REDACTED = "[redacted]"
GENESIS = "0" * 64  # the "previous hash" of the first row
MAX_VALUE = 300      # characters of one parameter value kept in the log
MAX_ITEMS = 20       # items of one list parameter kept
MAX_PAGE = 1000      # rows one read returns at most

# a parameter whose name has one of these words (split at _ - . and case changes) is a secret
SECRET_WORDS = frozenset({"pin", "passphrase", "password", "passwd", "secret", "private", "credential", "credentials",
                          "otp", "authorization"})
SECRET_NAMES = frozenset({"key", "api_key", "apikey", "private_key", "token_pin", "so_pin", "user_pin"})
_WORDS = re.compile(r"[A-Za-z][a-z0-9]*")
_PRIVATE_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


class AuditColumns:
    """The columns of an audit table; a role's model is ``class X(AuditColumns, Base)`` with its table name."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)   # api | cli | ui
    actor: Mapped[str] = mapped_column(String(255), nullable=False)    # key name, OS user, UI user
    source: Mapped[str] = mapped_column(String(255), nullable=False)   # client address, or "cli HOST TTY"
    operation: Mapped[str] = mapped_column(String(255), nullable=False)
    params: Mapped[str] = mapped_column(Text, nullable=False)          # JSON object, redacted
    outcome: Mapped[str] = mapped_column(String(255), nullable=False)  # ok | an error code
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # HTTP status of an API call
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


def is_secret_name(name: str) -> bool:
    words = {w.lower() for w in _WORDS.findall(name)}
    return name.lower() in SECRET_NAMES or bool(words & SECRET_WORDS)


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_clean(v) for v in list(value)[:MAX_ITEMS]]
        return items + ([f"... {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else [])
    textual = str(value)
    if textual.startswith(KEY_PREFIX) or _PRIVATE_PEM.search(textual):
        return REDACTED
    return textual if len(textual) <= MAX_VALUE else textual[:MAX_VALUE] + "..."


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` fit for the audit log: secrets by name or by look replaced, values bounded."""
    return {str(name): REDACTED if is_secret_name(str(name)) and value not in (None, "", False) else _clean(value)
            for name, value in params.items()}


@dataclass(frozen=True)
class AuditEntry:
    """One administrative action as it is recorded (params already redacted by the constructor)."""

    at: dt.datetime
    channel: str
    actor: str
    source: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    status: int | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("an audit entry needs a timezone-aware time")
        object.__setattr__(self, "params", redact(self.params))

    def content(self) -> str:
        """The canonical text the row's hash covers."""
        return json.dumps([self.at.astimezone(dt.timezone.utc).isoformat(), self.channel, self.actor, self.source,
                           self.operation, self.params, self.outcome, self.status],
                          sort_keys=True, separators=(",", ":"), ensure_ascii=True)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # API calls with any other method are recorded


def api_call_entry(now: dt.datetime, *, actor: str | None, address: str | None, method: str, path: str, body: Any,
                   query: dict[str, Any], status: int | None, answer: Any) -> AuditEntry:
    """The entry of one answered API call: its JSON body's fields (redacted), and ``ok`` or the answer's error code.

    Framework-neutral so that both roles' hooks (Flask, kept out of ``trust``) build it alike.
    """
    params = dict(body) if isinstance(body, dict) else {}
    if query:
        params["query"] = dict(query)
    code = answer.get("code") if isinstance(answer, dict) else None
    # no status yet: the entry is written in the transaction of the call's change, which succeeded
    outcome = "ok" if status is None or status < 400 else code if isinstance(code, str) else f"http {status}"
    return AuditEntry(now, "api", actor or "-", address or "-", f"{method} {path}", params, outcome, status)


def parse_since(raw: str | None) -> dt.datetime | None:
    """A ``since`` bound as operators type it (ISO 8601; UTC unless a zone is given); ``ValueError`` says how."""
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("since must be an ISO 8601 date or time, e.g. 2026-06-01 or 2026-06-01T12:00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(f"{prev_hash}\n{entry.content()}".encode("ascii")).hexdigest()


def entry_json(row: Any) -> dict[str, Any]:
    """One stored row as the API and ``--json`` show it."""
    return {"id": row.id, "at": row.at.isoformat(), "channel": row.channel, "actor": row.actor, "source": row.source,
            "operation": row.operation, "params": json.loads(row.params), "outcome": row.outcome,
            "status": row.status}


def entry_line(row: Any) -> str:
    params = " ".join(f"{k}={json.dumps(v)}" for k, v in json.loads(row.params).items())
    return (f"{row.id:>6} {row.at.isoformat(timespec='seconds')} {row.channel} {row.actor} [{row.source}] "
            f"{row.operation} {params} -> {row.outcome}").rstrip()


@dataclass(frozen=True)
class ChainCheck:
    """What :meth:`AuditLog.verify` found: how many rows, and the first one that does not chain."""

    count: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class AuditLog:
    """Append and read one role's audit table on its database."""

    def __init__(self, engine: Engine, table: FromClause) -> None:
        """``table`` is the role's model's ``__table__`` (a model of :class:`AuditColumns`)."""
        self.engine, self.table = engine, cast(Table, table)
        self.name = self.table.name

    def close(self) -> None:
        self.engine.dispose()

    def _lock(self, conn: Connection) -> None:
        """Take the table's write lock before reading the chain's head, so no concurrent append forks it."""
        name = self.name
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'LOCK TABLE "{name}" IN SHARE ROW EXCLUSIVE MODE'))
        elif conn.dialect.name == "sqlite":
            # a write statement that touches no row: SQLite takes its write lock (waiting busy_timeout)
            conn.execute(text(f'DELETE FROM "{name}" WHERE 0'))

    def append_in(self, conn: Connection, entry: AuditEntry) -> str:
        """Append ``entry`` in the caller's transaction (the one that made the change); returns its hash."""
        self._lock(conn)
        c = self.table.c
        prev = conn.execute(select(c.hash).order_by(c.id.desc()).limit(1)).scalar() or GENESIS
        digest = chain_hash(prev, entry)
        conn.execute(insert(self.table).values(
            at=entry.at, channel=entry.channel, actor=entry.actor[:255], source=entry.source[:255],
            operation=entry.operation[:255], params=json.dumps(entry.params, sort_keys=True), outcome=entry.outcome[:255],
            status=entry.status, prev_hash=prev, hash=digest))
        return digest

    def append(self, entry: AuditEntry) -> str:
        """Append ``entry`` in a transaction of its own (a change already committed, a file change, a refusal)."""
        with self.engine.begin() as conn:
            return self.append_in(conn, entry)

    def entries(self, *, since: dt.datetime | None = None, before: int | None = None,
                limit: int = 100) -> list[Any]:
        """Newest first: at most ``limit`` rows at or after ``since``, with ids below ``before`` (paging)."""
        c = self.table.c
        query = select(self.table).order_by(c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
        if since is not None:
            query = query.where(c.at >= since)
        if before is not None:
            query = query.where(c.id < before)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def _rows(self) -> Iterator[Any]:
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=500).execute(select(self.table).order_by(self.table.c.id))

    def verify(self) -> ChainCheck:
        """Recompute the chain from the first row; name the first row whose link or content does not match."""
        prev, count = GENESIS, 0
        for row in self._rows():
            entry = AuditEntry(row.at, row.channel, row.actor, row.source, row.operation, {}, row.outcome, row.status)
            object.__setattr__(entry, "params", json.loads(row.params))  # as stored: redacting again is not ours to do
            if row.prev_hash != prev:
                return ChainCheck(count, row.id, "does not link to the row before it (a row was removed or inserted)")
            if chain_hash(prev, entry) != row.hash:
                return ChainCheck(count, row.id, "its content does not match its hash (the row was changed)")
            prev, count = row.hash, count + 1
        return ChainCheck(count)


@dataclass
class PendingAudit:
    """The administrative action under way in this context (an API request, a CLI command).

    ``make`` builds its ``ok`` entry when a write transaction of the role is about to
    commit (:func:`record_in_transaction`), so the change and its record commit
    together; ``written`` tells the API hook or the CLI wrapper afterwards that only a
    failure, or an action that wrote no row (a file, a backup), is still to record.
    """

    make: Callable[[], AuditEntry]
    written: bool = False


# context-local, like Flask's request context: each request thread and each CLI run sees only its own action
_PENDING: ContextVar[PendingAudit | None] = ContextVar("sild_audit_pending", default=None)


def begin_action(make: Callable[[], AuditEntry]) -> tuple[PendingAudit, Token[PendingAudit | None]]:
    """Mark an action as under way in this context; end it with :func:`end_action`."""
    pending = PendingAudit(make)
    return pending, _PENDING.set(pending)


def end_action(token: Token[PendingAudit | None]) -> None:
    _PENDING.reset(token)


def current_action() -> PendingAudit | None:
    return _PENDING.get()


def record_in_transaction(conn: Connection, table: FromClause) -> PendingAudit | None:
    """Called by a role's write transaction just before it commits: record the action under way in it, once.

    Returns the action; the caller sets ``written`` once its transaction has committed.
    """
    pending = _PENDING.get()
    if pending is None or pending.written:
        return None
    AuditLog(conn.engine, table).append_in(conn, pending.make())
    return pending


def append_only_ddl(table: str, dialect: str) -> tuple[list[str], list[str]]:
    """(upgrade, downgrade) statements that make ``table`` refuse UPDATE and DELETE (and TRUNCATE)."""
    message = f"{table} is append-only"
    if dialect == "postgresql":
        function = f"{table}_append_only"
        return ([f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
                 f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$",
                 f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                 f"FOR EACH ROW EXECUTE FUNCTION {function}()",
                 f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                 f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"],
                [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
                 f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}", f"DROP FUNCTION IF EXISTS {function}()"])
    if dialect == "sqlite":
        return ([f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                 f"BEGIN SELECT RAISE(ABORT, '{message}'); END" for verb in ("UPDATE", "DELETE")],
                [f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}" for verb in ("UPDATE", "DELETE")])
    return [], []


def create_audit_table(op: Any, table: str) -> None:
    """In an alembic migration: create the audit table ``table`` and its append-only triggers."""
    import sqlalchemy as sa

    op.create_table(
        table,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=255), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(f"ix_{table}_at", table, ["at"])
    for statement in append_only_ddl(table, op.get_bind().dialect.name)[0]:
        op.execute(statement)


def drop_audit_table(op: Any, table: str) -> None:
    for statement in append_only_ddl(table, op.get_bind().dialect.name)[1]:
        op.execute(statement)
    op.drop_index(f"ix_{table}_at", table_name=table)
    op.drop_table(table)
