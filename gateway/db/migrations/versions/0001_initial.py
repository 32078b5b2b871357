"""Initial schema: server configuration, message log, operational monitoring.

The first migration creates every table from scratch, so a new gateway and an
existing one reach the same schema the same way.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('api_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.Text(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_table('client',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('typed_id', sa.String(length=1100), nullable=False),
    sa.Column('instance', sa.String(length=255), nullable=False),
    sa.Column('member_class', sa.String(length=255), nullable=False),
    sa.Column('member_code', sa.String(length=255), nullable=False),
    sa.Column('subsystem_code', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('is_auth', sa.String(length=20), nullable=False),
    sa.Column('allowed_addresses', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('typed_id', name='uq_client_typed_id')
    )
    op.create_table('conf_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ml_archive',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=128), nullable=False),
    sa.Column('prev_digest', sa.String(length=128), nullable=False),
    sa.Column('first_record', sa.BigInteger(), nullable=False),
    sa.Column('last_record', sa.BigInteger(), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ml_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('query_id', sa.String(length=255), nullable=False),
    sa.Column('x_request_id', sa.String(length=255), nullable=True),
    sa.Column('client_id', sa.String(length=1100), nullable=False),
    sa.Column('service_id', sa.String(length=1100), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('message', sa.LargeBinary(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('body_logged', sa.Boolean(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('signature_hash', sa.LargeBinary(), nullable=False),
    sa.Column('hash_chain_result', sa.LargeBinary(), nullable=True),
    sa.Column('hash_chain', sa.LargeBinary(), nullable=True),
    sa.Column('attachments', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ml_record', schema=None) as batch_op:
        batch_op.create_index('ix_ml_record_query', ['query_id'], unique=False)
        batch_op.create_index('ix_ml_record_time', ['logged_at'], unique=False)

    op.create_table('ml_state',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('ml_timestamp',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('stamped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('hash_chain_result', sa.LargeBinary(), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('op_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('monitoring_data_ts', sa.BigInteger(), nullable=False),
    sa.Column('client_id', sa.String(length=1100), nullable=True),
    sa.Column('service_provider_id', sa.String(length=1100), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('op_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_op_record_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_op_record_ts', ['monitoring_data_ts'], unique=False)

    op.create_table('server_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance', sa.String(length=255), nullable=False),
    sa.Column('member_class', sa.String(length=255), nullable=False),
    sa.Column('member_code', sa.String(length=255), nullable=False),
    sa.Column('server_code', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('endpoint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_code', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'service_code', 'method', 'path', name='uq_endpoint')
    )
    op.create_table('is_cert',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('der', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'sha256', name='uq_is_cert')
    )
    op.create_table('local_group',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'code', name='uq_local_group')
    )
    op.create_table('ml_attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['ml_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ml_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_attachment_record_id'), ['record_id'], unique=False)

    op.create_table('ml_record_archive',
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('archive_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['archive_id'], ['ml_archive.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['ml_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id')
    )
    with op.batch_alter_table('ml_record_archive', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_record_archive_archive_id'), ['archive_id'], unique=False)

    op.create_table('ml_record_ts',
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('timestamp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_chain', sa.LargeBinary(), nullable=True),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['ml_record.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['timestamp_id'], ['ml_timestamp.id'], ),
    sa.PrimaryKeyConstraint('record_id')
    )
    with op.batch_alter_table('ml_record_ts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_record_ts_timestamp_id'), ['timestamp_id'], unique=False)

    op.create_table('service_description',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_notice', sa.Text(), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('access_right',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=1100), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoint.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('endpoint_id', 'subject', name='uq_access_right')
    )
    op.create_table('local_group_member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member', sa.String(length=1100), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['local_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'member', name='uq_local_group_member')
    )
    op.create_table('service',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('description_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_code', sa.String(length=255), nullable=False),
    sa.Column('service_version', sa.String(length=255), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('tls_verify', sa.Boolean(), nullable=False),
    sa.Column('tls_ca_pem', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['description_id'], ['service_description.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'service_code', 'service_version', name='uq_service')
    )
    conf_state = sa.table('conf_state', sa.column('id', sa.Integer()), sa.column('counter', sa.BigInteger()))
    op.bulk_insert(conf_state, [{'id': 1, 'counter': 0}])


def downgrade() -> None:
    
    op.drop_table('service')
    op.drop_table('local_group_member')
    op.drop_table('access_right')
    op.drop_table('service_description')
    with op.batch_alter_table('ml_record_ts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_record_ts_timestamp_id'))

    op.drop_table('ml_record_ts')
    with op.batch_alter_table('ml_record_archive', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_record_archive_archive_id'))

    op.drop_table('ml_record_archive')
    with op.batch_alter_table('ml_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_attachment_record_id'))

    op.drop_table('ml_attachment')
    op.drop_table('local_group')
    op.drop_table('is_cert')
    op.drop_table('endpoint')
    op.drop_table('server_identity')
    with op.batch_alter_table('op_record', schema=None) as batch_op:
        batch_op.drop_index('ix_op_record_ts')
        batch_op.drop_index(batch_op.f('ix_op_record_client_id'))

    op.drop_table('op_record')
    op.drop_table('ml_timestamp')
    op.drop_table('ml_state')
    with op.batch_alter_table('ml_record', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_record_time')
        batch_op.drop_index('ix_ml_record_query')

    op.drop_table('ml_record')
    op.drop_table('ml_archive')
    op.drop_table('conf_state')
    op.drop_table('client')
    op.drop_table('api_key')
    
