"""Registry: the audit log of administrative actions, append-only (issue 17).

The table and its triggers (SQLite: abort UPDATE and DELETE; PostgreSQL: a trigger
function that also refuses TRUNCATE) come from :func:`trust.infra.create_audit_table`,
the same for a gateway's database. Its name differs from the gateway's ``audit_log``
so that both can live in one PostgreSQL database.

Revision ID: 0003_audit_entries
Revises: 0002_request_type
"""

from __future__ import annotations

from alembic import op

from trust.infra import create_audit_table, drop_audit_table


revision = '0003_audit_entries'
down_revision = '0002_request_type'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table(op, 'audit_entries')


def downgrade() -> None:
    drop_audit_table(op, 'audit_entries')
