"""Gateway: the admin web UI's users, sessions and failed logins (issue 18).

The tables are :func:`trust.accounts.create_account_tables`'s, the same for the
governing authority's registry, declared once so the two roles cannot drift; named
``gateway_ui_*`` (the authority's are ``central_ui_*``: the two may share one database).

Revision ID: 0004_ui_accounts
Revises: 0003_audit_log
"""

from __future__ import annotations

from alembic import op

from trust.accounts import create_account_tables, drop_account_tables


revision = '0004_ui_accounts'
down_revision = '0003_audit_log'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_account_tables(op, "gateway_ui")


def downgrade() -> None:
    drop_account_tables(op, "gateway_ui")
