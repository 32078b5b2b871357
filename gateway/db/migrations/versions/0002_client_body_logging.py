"""A client's message-body logging override (X-Road's per-subsystem body-logging lists).

NULL follows the gateway's ``message_body_logging`` setting; true or false overrides
it for messages to services of this client (X-Road's local producer overrides).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('client') as batch:
        batch.add_column(sa.Column('body_logging', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client') as batch:
        batch.drop_column('body_logging')
