"""Public face of ``trust.infra``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust._lazy import attach

if TYPE_CHECKING:
    from ._clock import utc_now
    from ._db import SYNC_MODES, UtcDateTime, database_url, run_alembic_env, transaction
    from ._files import fsync_directory, write_atomic
    from ._safexml import parse_xml
    from ._wsgiserver import WsgiApp, WsgiServer

__all__ = [
    "SYNC_MODES",
    "UtcDateTime",
    "WsgiApp",
    "WsgiServer",
    "database_url",
    "fsync_directory",
    "parse_xml",
    "run_alembic_env",
    "transaction",
    "utc_now",
    "write_atomic",
]

__getattr__, __dir__ = attach(__name__, {
    "SYNC_MODES": "._db",
    "UtcDateTime": "._db",
    "WsgiApp": "._wsgiserver",
    "WsgiServer": "._wsgiserver",
    "database_url": "._db",
    "fsync_directory": "._files",
    "parse_xml": "._safexml",
    "run_alembic_env": "._db",
    "transaction": "._db",
    "utc_now": "._clock",
    "write_atomic": "._files",
})
