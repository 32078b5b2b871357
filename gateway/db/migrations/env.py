"""Alembic environment for the gateway database; run programmatically by serverconf_db."""

from __future__ import annotations

from gateway.db import VERSION_TABLE, Base
from trust.infra import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
