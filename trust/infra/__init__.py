"""Public face of ``trust.infra``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust._lazy import attach

if TYPE_CHECKING:
    from ._clock import utc_now
    from ._db import (
        MIGRATION_ATTEMPTS, SYNC_MODES, UtcDateTime, database_url, migrate_schema, open_engine, run_alembic_env,
        transaction,
    )
    from ._files import fsync_directory, write_atomic
    from ._safexml import parse_xml
    from ._wsgiserver import WsgiApp, WsgiServer

__all__ = [
    "MIGRATION_ATTEMPTS",
    "SYNC_MODES",
    "UtcDateTime",
    "WsgiApp",
    "WsgiServer",
    "database_url",
    "fsync_directory",
    "migrate_schema",
    "open_engine",
    "parse_xml",
    "run_alembic_env",
    "transaction",
    "utc_now",
    "write_atomic",
]

__getattr__, __dir__ = attach(__name__, {
    "MIGRATION_ATTEMPTS": "._db",
    "SYNC_MODES": "._db",
    "UtcDateTime": "._db",
    "WsgiApp": "._wsgiserver",
    "WsgiServer": "._wsgiserver",
    "database_url": "._db",
    "fsync_directory": "._files",
    "migrate_schema": "._db",
    "open_engine": "._db",
    "parse_xml": "._safexml",
    "run_alembic_env": "._db",
    "transaction": "._db",
    "utc_now": "._clock",
    "write_atomic": "._files",
})
