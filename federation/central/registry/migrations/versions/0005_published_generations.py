"""Registry: the published configuration generations, so that every node serves the same bytes (issue 19).

Revision ID: 0005_published_generations
Revises: 0004_ui_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_published_generations'
down_revision = '0004_ui_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'published_generations',
        sa.Column('folder', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.Column('parts', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('folder'),
    )


def downgrade() -> None:
    op.drop_table('published_generations')
