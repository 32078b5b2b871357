"""Registry: the accounts of the authority's admin web UI (issue 18).

``central_ui_users`` (argon2id hashes, roles), ``central_ui_sessions`` (only the
SHA-256 of each session id) and ``central_ui_login_failures`` (throttling), named
apart from a gateway's ``gateway_ui_*`` (the two may share one PostgreSQL database), declared once in
:mod:`trust.accounts` so that the authority's and the gateway's tables cannot drift.

Revision ID: 0004_ui_accounts
Revises: 0003_audit_entries
"""

from __future__ import annotations

from alembic import op

from trust.accounts import create_account_tables, drop_account_tables


revision = '0004_ui_accounts'
down_revision = '0003_audit_entries'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_account_tables(op, "central_ui")


def downgrade() -> None:
    drop_account_tables(op, "central_ui")
