"""The tables of UI accounts: users, sessions and failed logins, declared once for every role.

Each role (a gateway, a governing authority) keeps its accounts in its own database
and migrates them with its own alembic chain; both must get the same tables. So the
tables are declared here, on a ``MetaData`` the caller passes: a role adds them to
its models' metadata (so alembic's autogenerate comparison sees them) with
:func:`account_tables`, and its migration creates them from the same declaration
with :func:`create_account_tables`, so the two cannot drift.

What is stored, and why:

Each role names its tables with its own prefix (``gateway_ui``, ``central_ui``; ``ui``
when none is given), as its audit and alembic tables are named apart: a gateway and
an authority may share one PostgreSQL database, and their operators are not the same
people.

* ``<prefix>_users``: the name, the argon2id hash (never the password), the roles as a
  space-separated list of role names, whether the account is enabled;
* ``<prefix>_sessions``: the SHA-256 of the session id, never the id itself (a copy of the
  database lets no one take over a session), the user, when it began and when it
  was last used (idle and absolute timeouts), and the address it began from;
* ``<prefix>_login_failures``: one row per failed login with the user name and the
  address, read back to throttle guessing (and pruned as they age).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from trust.infra import UtcDateTime

DEFAULT_PREFIX = "ui"


def _names(prefix: str) -> tuple[str, str, str]:
    return f"{prefix}_users", f"{prefix}_sessions", f"{prefix}_login_failures"


@dataclass(frozen=True)
class AccountTables:
    """The three tables on one metadata."""

    users: Table
    sessions: Table
    failures: Table


def account_tables(metadata: MetaData, prefix: str = DEFAULT_PREFIX) -> AccountTables:
    """The account tables named ``<prefix>_...`` on ``metadata``, declared there the first time (a role's models)."""
    USERS, SESSIONS, FAILURES = _names(prefix)
    if USERS in metadata.tables:
        return AccountTables(metadata.tables[USERS], metadata.tables[SESSIONS], metadata.tables[FAILURES])
    users = Table(
        USERS, metadata,
        Column("name", String(64), primary_key=True),
        Column("password_hash", Text, nullable=False),
        Column("roles", String(255), nullable=False),
        Column("enabled", Boolean, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("password_changed_at", UtcDateTime, nullable=False),
        Column("last_login_at", UtcDateTime, nullable=True),
    )
    sessions = Table(
        SESSIONS, metadata,
        Column("id_hash", String(64), primary_key=True),
        Column("user_name", String(64), ForeignKey(f"{USERS}.name", ondelete="CASCADE"), nullable=False,
               index=True),
        Column("started_at", UtcDateTime, nullable=False),
        Column("last_seen_at", UtcDateTime, nullable=False),
        Column("address", String(255), nullable=False),
    )
    failures = Table(
        FAILURES, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("user_name", String(64), nullable=False),
        Column("address", String(255), nullable=False),
        Column("at", UtcDateTime, nullable=False, index=True),
        Index(f"ix_{FAILURES}_user_at", "user_name", "at"),
        Index(f"ix_{FAILURES}_address_at", "address", "at"),
    )
    return AccountTables(users, sessions, failures)


def create_account_tables(op: Any, prefix: str = DEFAULT_PREFIX) -> None:
    """In an alembic migration's ``upgrade``: create the account tables on the migration's connection."""
    metadata = MetaData()
    account_tables(metadata, prefix)
    metadata.create_all(op.get_bind())


def drop_account_tables(op: Any, prefix: str = DEFAULT_PREFIX) -> None:
    """In an alembic migration's ``downgrade``: drop them again."""
    metadata = MetaData()
    account_tables(metadata, prefix)
    metadata.drop_all(op.get_bind())
