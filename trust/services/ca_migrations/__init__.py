"""Alembic migrations of the CA register (``trust.services._ca_db``); applied when a CA is opened."""
