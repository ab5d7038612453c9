"""Attachments (stored outside the database by hash) and the complaint fund (投诉基金).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('detected_type', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_attachments_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_attachments_uploaded_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_attachments_owner', ['owner_kind', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_uploaded_by'), ['uploaded_by'], unique=False)

    op.create_table('fund_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('deposited_fen', sa.BigInteger(), nullable=False),
    sa.Column('committed_fen', sa.BigInteger(), nullable=False),
    sa.Column('pending_fen', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('committed_fen <= deposited_fen', name=op.f('ck_fund_accounts_not_overdrawn')),
    sa.CheckConstraint('pending_fen >= 0', name=op.f('ck_fund_accounts_pending_not_negative')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_fund_accounts_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_fund_accounts_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_accounts')),
    sa.UniqueConstraint('org_id', name=op.f('uq_fund_accounts_org_id'))
    )
    with op.batch_alter_table('fund_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_accounts_org_id'), ['org_id'], unique=False)

    op.create_table('fund_transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payee_name', sa.String(length=64), nullable=True),
    sa.Column('payee_account', sa.String(length=34), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('voucher_number', sa.String(length=64), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_fund_transactions_amount_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['fund_accounts.id'], name=op.f('fk_fund_transactions_account_id_fund_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_fund_transactions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_fund_transactions_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_fund_transactions_ticket_id_tickets'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_transactions'))
    )
    with op.batch_alter_table('fund_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_fund_transactions_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_transactions_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_fund_transactions_org_kind_status', ['org_id', 'kind', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_transactions_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fund_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_transactions_ticket_id'))
        batch_op.drop_index('ix_fund_transactions_org_kind_status')
        batch_op.drop_index(batch_op.f('ix_fund_transactions_org_id'))
        batch_op.drop_index('ix_fund_transactions_account_created')

    op.drop_table('fund_transactions')
    with op.batch_alter_table('fund_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_accounts_org_id'))

    op.drop_table('fund_accounts')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_uploaded_by'))
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_index('ix_attachments_owner')
        batch_op.drop_index(batch_op.f('ix_attachments_org_id'))

    op.drop_table('attachments')
