"""Initial CA register: one row per issued certificate, revocation in place.

Revision ID: ca0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ca0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_certificate",
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=1024), nullable=False),
        sa.Column("member", sa.String(length=1024), nullable=True),
        sa.Column("server_code", sa.String(length=255), nullable=True),
        sa.Column("issuer_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sha256_hex", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("not_after", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("serial_hex"),
        sa.UniqueConstraint("sha256_hex"),
    )
    op.create_index("ix_issued_certificate_issuer_fingerprint", "issued_certificate", ["issuer_fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_issued_certificate_issuer_fingerprint", table_name="issued_certificate")
    op.drop_table("issued_certificate")
