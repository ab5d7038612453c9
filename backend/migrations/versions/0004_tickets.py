"""Code tables (seeded from backend/codes/seed_zh.yaml), ticket counters and tickets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:20:45.070639
"""

import sqlalchemy as sa
from alembic import op

from backend.codes.seed import seed_rows

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    code_items = op.create_table('code_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_items')),
    sa.UniqueConstraint('table_name', 'code', name=op.f('uq_code_items_table_name'))
    )
    with op.batch_alter_table('code_items', schema=None) as batch_op:
        batch_op.create_index('ix_code_items_table_order', ['table_name', 'sort_order'], unique=False)
    op.bulk_insert(code_items, seed_rows())

    op.create_table('ticket_counters',
    sa.Column('prefix', sa.String(length=4), nullable=False),
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'day', name=op.f('pk_ticket_counters'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('demand', sa.Text(), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('caller_phone', sa.String(length=32), nullable=True),
    sa.Column('complainant_name', sa.String(length=64), nullable=True),
    sa.Column('complainant_phone', sa.String(length=32), nullable=True),
    sa.Column('complainant_id_number', sa.String(length=32), nullable=True),
    sa.Column('policy_number', sa.String(length=32), nullable=True),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('node', sa.String(length=32), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('risk_flags', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_tickets_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_tickets_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_call_id', ['call_id'], unique=False)
        batch_op.create_index('ix_tickets_caller_phone', ['caller_phone'], unique=False)
        batch_op.create_index('ix_tickets_complainant_id_number', ['complainant_id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_tickets_org_status_received', ['org_id', 'status', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_org_status_received')
        batch_op.drop_index(batch_op.f('ix_tickets_org_id'))
        batch_op.drop_index('ix_tickets_complainant_id_number')
        batch_op.drop_index('ix_tickets_caller_phone')
        batch_op.drop_index('ix_tickets_call_id')

    op.drop_table('tickets')
    op.drop_table('ticket_counters')
    with op.batch_alter_table('code_items', schema=None) as batch_op:
        batch_op.drop_index('ix_code_items_table_order')

    op.drop_table('code_items')
