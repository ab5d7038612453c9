"""IVR sessions (each caller's path through the IVR) and callback requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:52:24.132845
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('service', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('bus_event_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_callback_requests_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_requests')),
    sa.UniqueConstraint('node', 'bus_event_id', name=op.f('uq_callback_requests_node'))
    )
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.create_index('ix_callback_requests_org_due', ['org_id', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_requests_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_callback_requests_status_due', ['status', 'due_at'], unique=False)

    op.create_table('ivr_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('service', sa.String(length=32), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('caller', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('path', sa.JSON(), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('bus_event_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_ivr_sessions_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_sessions')),
    sa.UniqueConstraint('node', 'bus_event_id', name=op.f('uq_ivr_sessions_node'))
    )
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_ivr_sessions_call', ['node', 'call_id'], unique=False)
        batch_op.create_index('ix_ivr_sessions_caller_started', ['caller', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ivr_sessions_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_ivr_sessions_org_started', ['org_id', 'started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_ivr_sessions_org_started')
        batch_op.drop_index(batch_op.f('ix_ivr_sessions_org_id'))
        batch_op.drop_index('ix_ivr_sessions_caller_started')
        batch_op.drop_index('ix_ivr_sessions_call')

    op.drop_table('ivr_sessions')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_requests_status_due')
        batch_op.drop_index(batch_op.f('ix_callback_requests_org_id'))
        batch_op.drop_index('ix_callback_requests_org_due')

    op.drop_table('callback_requests')
