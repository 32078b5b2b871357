"""Gateway: the data tracker's declarations and entries (issue 20, part 1).

``tracker_rule``: per service, where the data owner says a request names its data
subject. ``tracker_entry``: one row per served exchange on such a service (the
subject as a keyed hash unless the rule says plain), indexed by subject.

Revision ID: 0007_tracker
Revises: 0006_grant_purposes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007_tracker'
down_revision = '0006_grant_purposes'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('tracker_rule',
    sa.Column('id', _BIG_ID, autoincrement=True, nullable=False),
    sa.Column('provider_id', sa.String(length=1100), nullable=False),
    sa.Column('service_code', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('namespaces', sa.Text(), nullable=False),
    sa.Column('store_plain', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_id', 'service_code', name='uq_tracker_rule'),
    )
    op.create_table('tracker_entry',
    sa.Column('id', _BIG_ID, autoincrement=True, nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('hashed', sa.Boolean(), nullable=False),
    sa.Column('client_id', sa.String(length=1100), nullable=False),
    sa.Column('service_id', sa.String(length=1100), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('issue', sa.Text(), nullable=True),
    sa.Column('purpose', sa.String(length=255), nullable=True),
    sa.Column('query_id', sa.String(length=255), nullable=False),
    sa.Column('log_record_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_tracker_entry_subject', 'tracker_entry', ['subject'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tracker_entry_subject', table_name='tracker_entry')
    op.drop_table('tracker_entry')
    op.drop_table('tracker_rule')
