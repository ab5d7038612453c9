"""Workflow: work items (where each ticket is now, and whose to-do it is) and handling records (the timeline).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:36:00.202327
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handling_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('target_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('target_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_handling_records_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_handling_records_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['target_org_id'], ['orgs.id'], name=op.f('fk_handling_records_target_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_handling_records_target_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_handling_records_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handling_records'))
    )
    with op.batch_alter_table('handling_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handling_records_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handling_records_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handling_records_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('work_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('assignee_kind', sa.String(length=16), nullable=False),
    sa.Column('assignee_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_role', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['users.id'], name=op.f('fk_work_items_assignee_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_work_items_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_work_items_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_items'))
    )
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_items_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_work_items_org_status_due', ['org_id', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_items_ticket_id'))
        batch_op.drop_index('ix_work_items_org_status_due')
        batch_op.drop_index(batch_op.f('ix_work_items_org_id'))

    op.drop_table('work_items')
    with op.batch_alter_table('handling_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handling_records_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_handling_records_org_id'))
        batch_op.drop_index(batch_op.f('ix_handling_records_actor_user_id'))

    op.drop_table('handling_records')
