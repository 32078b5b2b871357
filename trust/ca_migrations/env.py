"""Alembic environment for the CA register; run programmatically by ``trust.ca_db``."""

from __future__ import annotations

from trust.ca_db import VERSION_TABLE, metadata
from trust.sqlstore import run_alembic_env

# its own version table: the register may share a PostgreSQL database
run_alembic_env(metadata, VERSION_TABLE)
