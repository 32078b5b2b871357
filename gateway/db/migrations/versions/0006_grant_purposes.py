"""Purpose- and time-bound access rights, and the declared purpose in the message log (issue 20).

``access_right`` gains its optional terms (``gateway.serverconf._grants``): a JSON list
of purpose codes and a validity window; NULL everywhere is X-Road's plain right, so
existing rights keep behaving as before. ``ml_record.purpose`` holds the purpose the
client declared (NULL when none), searchable without parsing the signed message.

Revision ID: 0006_grant_purposes
Revises: 0005_cluster_files
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_grant_purposes'
down_revision = '0005_cluster_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('access_right') as batch:
        batch.add_column(sa.Column('purposes', sa.Text(), nullable=True))
        batch.add_column(sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('ml_record') as batch:
        batch.add_column(sa.Column('purpose', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ml_record') as batch:
        batch.drop_column('purpose')
    with op.batch_alter_table('access_right') as batch:
        batch.drop_column('valid_until')
        batch.drop_column('valid_from')
        batch.drop_column('purposes')
