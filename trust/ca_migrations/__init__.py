"""Alembic migrations of the CA register (``trust.ca_db``); applied when a CA is opened."""
