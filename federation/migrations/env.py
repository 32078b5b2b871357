"""Alembic environment of the central registry; run programmatically by :mod:`federation.registry_db`.

The caller hands an open connection in ``config.attributes["connection"]`` so that the
migration runs inside the caller's transaction (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from federation.registry_db import VERSION_TABLE
from federation.registry_models import Base
from trust.sqlstore import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
