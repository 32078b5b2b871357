"""Alembic environment for the gateway database; run programmatically by serverconf_db."""

from __future__ import annotations

from gateway.serverconf_db import VERSION_TABLE
from gateway.serverconf_models import Base
from trust.sqlstore import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
