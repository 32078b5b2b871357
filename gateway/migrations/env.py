"""Alembic environment for the gateway database; run programmatically by serverconf_db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gateway.serverconf_models import Base

VERSION_TABLE = "gateway_alembic_version"
config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        # own version table: the gateway's chain can share a PostgreSQL database with others
        version_table=VERSION_TABLE,
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


if context.is_offline_mode():  # pragma: no cover - sild only migrates online
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
