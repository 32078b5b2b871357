"""The gateway database: one schema, one migration chain, one opener.

Server configuration, the message log and operational monitoring are tables of one
SQLAlchemy ``MetaData`` (:mod:`gateway.db.schema`) so that one alembic chain
(``migrations/``) migrates them all, on SQLite or PostgreSQL. A node may point its
message log at a database of its own (X-Road keeps the log per node while a cluster
shares its server configuration); the unused tables of each database stay empty. The
rooms that own the data (``serverconf``, ``messagelog``, ``monitoring``) import the
schema from here, so none of them needs another to reach its tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._engine import MIGRATIONS, VERSION_TABLE, DatabaseError, database_url, migrate_database, open_engine
    from .schema import UI_ACCOUNTS, AuditRecord, Base

__all__ = [
    "AuditRecord",
    "Base",
    "DatabaseError",
    "MIGRATIONS",
    "VERSION_TABLE",
    "database_url",
    "migrate_database",
    "open_engine",
    "UI_ACCOUNTS",
]

__getattr__, __dir__ = attach(__name__, {
    "AuditRecord": ".schema",
    "Base": ".schema",
    "DatabaseError": "._engine",
    "MIGRATIONS": "._engine",
    "VERSION_TABLE": "._engine",
    "database_url": "._engine",
    "migrate_database": "._engine",
    "open_engine": "._engine",
    "UI_ACCOUNTS": ".schema",
})
