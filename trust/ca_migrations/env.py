"""Alembic environment for the CA register; run programmatically by ``trust.ca_db``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from trust.ca_db import VERSION_TABLE, metadata

config = context.config


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,  # its own name: the register may share a PostgreSQL database
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)


run()
