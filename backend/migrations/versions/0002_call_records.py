"""Call-detail records, agent-state history, bus cursors, and users' phone interfaces.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:19:42.400920
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bus_cursors',
    sa.Column('consumer', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('last_id', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('consumer', 'stream', name=op.f('pk_bus_cursors'))
    )
    op.create_table('agent_states',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('interface', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_name', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('queues', sa.JSON(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('bus_event_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_agent_states_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_states_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_states')),
    sa.UniqueConstraint('node', 'bus_event_id', name=op.f('uq_agent_states_node'))
    )
    with op.batch_alter_table('agent_states', schema=None) as batch_op:
        batch_op.create_index('ix_agent_states_interface_started', ['interface', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_states_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_agent_states_org_started', ['org_id', 'started_at'], unique=False)
        batch_op.create_index('ix_agent_states_user_started', ['user_id', 'started_at'], unique=False)

    op.create_table('call_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=True),
    sa.Column('dialled', sa.String(length=32), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('wait_seconds', sa.Float(), nullable=True),
    sa.Column('ring_seconds', sa.Float(), nullable=True),
    sa.Column('talk_seconds', sa.Float(), nullable=True),
    sa.Column('hold_seconds', sa.Float(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('ivr', sa.JSON(), nullable=False),
    sa.Column('agent_interface', sa.String(length=64), nullable=True),
    sa.Column('agent_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_name', sa.String(length=64), nullable=True),
    sa.Column('transfers', sa.JSON(), nullable=False),
    sa.Column('transfer_count', sa.Integer(), nullable=False),
    sa.Column('hangup_cause', sa.Integer(), nullable=True),
    sa.Column('hangup_cause_text', sa.String(length=64), nullable=True),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('abandoned', sa.Boolean(), nullable=False),
    sa.Column('lost_during_outage', sa.Boolean(), nullable=False),
    sa.Column('recording_file', sa.String(length=255), nullable=True),
    sa.Column('command_id', sa.String(length=64), nullable=True),
    sa.Column('bus_event_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['agent_user_id'], ['users.id'], name=op.f('fk_call_records_agent_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_call_records_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_records')),
    sa.UniqueConstraint('node', 'call_id', name=op.f('uq_call_records_node'))
    )
    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.create_index('ix_call_records_agent_started', ['agent_user_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_records_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_call_records_org_started', ['org_id', 'started_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_interface', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_phone_interface'), ['phone_interface'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone_interface'))
        batch_op.drop_column('phone_interface')

    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.drop_index('ix_call_records_org_started')
        batch_op.drop_index(batch_op.f('ix_call_records_org_id'))
        batch_op.drop_index('ix_call_records_agent_started')

    op.drop_table('call_records')
    with op.batch_alter_table('agent_states', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_states_user_started')
        batch_op.drop_index('ix_agent_states_org_started')
        batch_op.drop_index(batch_op.f('ix_agent_states_org_id'))
        batch_op.drop_index('ix_agent_states_interface_started')

    op.drop_table('agent_states')
    op.drop_table('bus_cursors')
