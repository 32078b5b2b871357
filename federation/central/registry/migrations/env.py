"""Alembic environment of the central registry; run programmatically by :mod:`federation.central.registry._db`.

The caller hands an open connection in ``config.attributes["connection"]`` so that the
migration runs inside the caller's transaction (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from federation.central.registry import VERSION_TABLE
from federation.central.registry import Base
from trust.infra import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
