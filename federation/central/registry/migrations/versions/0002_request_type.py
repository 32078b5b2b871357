"""Registry: registration requests carry their type (X-Road's management requests, issue 17).

Every request stored before this revision was a gateway registration (``authCertReg``).

Revision ID: 0002_request_type
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002_request_type'
down_revision = '0001_registry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registration_requests') as batch:
        batch.add_column(sa.Column('request_type', sa.String(length=32), nullable=False, server_default='authCertReg'))


def downgrade() -> None:
    with op.batch_alter_table('registration_requests') as batch:
        batch.drop_column('request_type')
