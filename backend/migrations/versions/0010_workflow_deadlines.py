"""Workflow: countersign and approval work items, deadline states, extensions, supervision, merge, shared access.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('excluded_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('due_state', sa.String(length=16), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('supervised_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', BIG, nullable=True))
        batch_op.add_column(sa.Column('process', sa.String(length=48), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_merged_into_id_tickets'), 'tickets', ['merged_into_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_tickets_status_decision_due', ['status', 'decision_due_at'], unique=False)
        batch_op.create_index('ix_tickets_org_due_state', ['org_id', 'due_state'], unique=False)
    # Tickets registered before this revision: 15 days where a decision deadline exists.
    op.execute("UPDATE tickets SET decision_days = 15 WHERE decision_due_at IS NOT NULL")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('excluded_days', server_default=None)
        batch_op.alter_column('due_state', server_default=None)
        batch_op.alter_column('priority', server_default=None)

    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='step'))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('parent_item_id', BIG, nullable=True))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('due_state', sa.String(length=16), nullable=False, server_default='normal'))
        batch_op.create_foreign_key(batch_op.f('fk_work_items_parent_item_id_work_items'), 'work_items',
                                    ['parent_item_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_work_items_status_due', ['status', 'due_at'], unique=False)
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('priority', server_default=None)
        batch_op.alter_column('details', server_default=None)
        batch_op.alter_column('due_state', server_default=None)

    # Plain CREATE INDEX (no table rebuild needed on SQLite); the DESC column keeps the to-do order in the index.
    op.drop_index('ix_work_items_org_status_due', table_name='work_items')
    op.create_index('ix_work_items_todo', 'work_items', ['org_id', 'status', sa.text('priority DESC'), 'due_at', 'id'],
                    unique=False)

    with op.batch_alter_table('handling_records', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=16), type_=sa.String(length=24),
                              existing_nullable=False)

    op.create_table('ticket_access',
    sa.Column('ticket_id', BIG, nullable=False),
    sa.Column('org_id', BIG, nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_ticket_access_org_id_orgs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_access_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'org_id', name=op.f('pk_ticket_access'))
    )
    with op.batch_alter_table('ticket_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_access_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_work_items_todo', table_name='work_items')
    op.create_index('ix_work_items_org_status_due', 'work_items', ['org_id', 'status', 'due_at'], unique=False)
    with op.batch_alter_table('ticket_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_access_org_id'))
    op.drop_table('ticket_access')
    with op.batch_alter_table('handling_records', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=24), type_=sa.String(length=16),
                              existing_nullable=False)
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_status_due')
        batch_op.drop_column('priority')
        batch_op.drop_constraint(batch_op.f('fk_work_items_parent_item_id_work_items'), type_='foreignkey')
        batch_op.drop_column('due_state')
        batch_op.drop_column('details')
        batch_op.drop_column('parent_item_id')
        batch_op.drop_column('kind')
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_org_due_state')
        batch_op.drop_index('ix_tickets_status_decision_due')
        batch_op.drop_constraint(batch_op.f('fk_tickets_merged_into_id_tickets'), type_='foreignkey')
        for column in ('process', 'merged_into_id', 'closed_at', 'supervised_at', 'priority', 'due_state', 'excluded_days',
                       'decision_days'):
            batch_op.drop_column(column)
