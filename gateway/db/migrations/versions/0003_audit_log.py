"""Gateway: the audit log of administrative actions, append-only (issue 17).

The table and its triggers (SQLite: abort UPDATE and DELETE; PostgreSQL: a trigger
function that also refuses TRUNCATE) come from :func:`trust.infra.create_audit_table`,
the same for the governing authority's registry.

Revision ID: 0003_audit_log
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from trust.infra import create_audit_table, drop_audit_table


revision = '0003_audit_log'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table(op, 'audit_log')


def downgrade() -> None:
    drop_audit_table(op, 'audit_log')
