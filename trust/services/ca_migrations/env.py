"""Alembic environment for the CA register; run programmatically by ``trust.services._ca_db``."""

from __future__ import annotations

from trust.services import VERSION_TABLE, metadata
from trust.infra import run_alembic_env

# its own version table: the register may share a PostgreSQL database
run_alembic_env(metadata, VERSION_TABLE)
