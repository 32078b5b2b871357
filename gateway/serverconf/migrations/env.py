"""Alembic environment for the gateway database; run programmatically by serverconf_db."""

from __future__ import annotations

from gateway.serverconf._db import VERSION_TABLE
from gateway.serverconf._models import Base
from trust.infra._db import run_alembic_env

run_alembic_env(Base.metadata, VERSION_TABLE)
