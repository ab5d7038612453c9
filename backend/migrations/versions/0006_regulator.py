"""12378: complaints transferred by the regulator, keyed by the regulator's complaint number.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('regulator_import_batches',
    sa.Column('id', ID, nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('imported_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('created_by', ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_regulator_import_batches_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_regulator_import_batches_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regulator_import_batches'))
    )
    with op.batch_alter_table('regulator_import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regulator_import_batches_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regulator_import_batches_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_regulator_import_batches_org_created', ['org_id', 'created_at'], unique=False)

    op.create_table('regulator_complaints',
    sa.Column('id', ID, nullable=False),
    sa.Column('regulator_number', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', ID, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transferred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('repeat_flag', sa.Boolean(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('import_batch_id', ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['import_batch_id'], ['regulator_import_batches.id'], name=op.f('fk_regulator_complaints_import_batch_id_regulator_import_batches'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_regulator_complaints_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_regulator_complaints_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regulator_complaints')),
    sa.UniqueConstraint('regulator_number', name=op.f('uq_regulator_complaints_regulator_number')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_regulator_complaints_ticket_id'))
    )
    with op.batch_alter_table('regulator_complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regulator_complaints_import_batch_id'), ['import_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regulator_complaints_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_regulator_complaints_org_received', ['org_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('regulator_complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_regulator_complaints_org_received')
        batch_op.drop_index(batch_op.f('ix_regulator_complaints_org_id'))
        batch_op.drop_index(batch_op.f('ix_regulator_complaints_import_batch_id'))

    op.drop_table('regulator_complaints')
    with op.batch_alter_table('regulator_import_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_regulator_import_batches_org_created')
        batch_op.drop_index(batch_op.f('ix_regulator_import_batches_sha256'))
        batch_op.drop_index(batch_op.f('ix_regulator_import_batches_org_id'))

    op.drop_table('regulator_import_batches')
