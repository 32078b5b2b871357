"""Gateway: a cluster's shared files (anchor, certificates, key registry, shared settings) and their version.

Every node of a cluster polls ``cluster_state.version`` and writes the rows that
changed into its directory (:mod:`gateway.node._shared`). On a single node (SQLite)
the tables stay empty.

Revision ID: 0005_cluster_files
Revises: 0004_ui_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_cluster_files'
down_revision = '0004_ui_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cluster_state',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(sa.table('cluster_state', sa.column('id', sa.Integer()), sa.column('version', sa.BigInteger())),
                   [{'id': 1, 'version': 0}])
    op.create_table(
        'cluster_file',
        sa.Column('name', sa.String(300), primary_key=True),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('cluster_file')
    op.drop_table('cluster_state')
