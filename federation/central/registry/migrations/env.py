"""Alembic environment of the central registry; run programmatically by :mod:`federation.central.registry._db`.

The caller hands an open connection in ``config.attributes["connection"]`` so that the
migration runs inside the caller's transaction (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from federation.central.registry._db import VERSION_TABLE
from federation.central.registry._models import Base
from trust.infra._db import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
