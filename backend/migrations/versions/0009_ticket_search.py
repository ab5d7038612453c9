"""Full-text search over tickets (pre-segmented with jieba).

The segmented words live in ``ticket_texts``; the index over them is database-specific: an FTS5 table kept in
step by triggers on SQLite, a GIN expression index on PostgreSQL. Tickets that already exist are segmented here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(words, content='ticket_texts', content_rowid='ticket_id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER ticket_fts_after_insert AFTER INSERT ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(rowid, words) VALUES (new.ticket_id, new.words); END",
    "CREATE TRIGGER ticket_fts_after_delete AFTER DELETE ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, words) VALUES ('delete', old.ticket_id, old.words); END",
    "CREATE TRIGGER ticket_fts_after_update AFTER UPDATE ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, words) VALUES ('delete', old.ticket_id, old.words); "
    "INSERT INTO ticket_fts(rowid, words) VALUES (new.ticket_id, new.words); END",
)
SQLITE_FTS_DROP = (
    "DROP TRIGGER IF EXISTS ticket_fts_after_update",
    "DROP TRIGGER IF EXISTS ticket_fts_after_delete",
    "DROP TRIGGER IF EXISTS ticket_fts_after_insert",
    "DROP TABLE IF EXISTS ticket_fts",
)
INDEXES = (
    ('tickets', 'ix_tickets_received_at_id', ['received_at', 'id']),
    ('tickets', 'ix_tickets_decision_due_at_id', ['decision_due_at', 'id']),
    ('tickets', 'ix_tickets_complainant_phone', ['complainant_phone']),
    ('tickets', 'ix_tickets_policy_number', ['policy_number']),
    ('tickets', 'ix_tickets_customer_id', ['customer_id']),
    ('handling_records', 'ix_handling_records_acted_at_id', ['acted_at', 'id']),
    ('handling_records', 'ix_handling_records_action_acted_at', ['action', 'acted_at']),
)


def _backfill() -> None:
    """Segment the tickets registered before search existed (none on a fresh database: jieba is not loaded)."""
    conn = op.get_bind()
    tickets = sa.table('tickets', sa.column('id'), sa.column('subject'), sa.column('demand'),
                       sa.column('details', sa.JSON()))
    texts = sa.table('ticket_texts', sa.column('ticket_id'), sa.column('words'))
    last = 0
    while True:
        rows = conn.execute(sa.select(tickets).where(tickets.c.id > last).order_by(tickets.c.id).limit(1000)).all()
        if not rows:
            return
        from backend.search.indexer import ticket_words  # jieba: only when there is something to segment

        conn.execute(texts.insert(), [{'ticket_id': r.id, 'words': ticket_words(r.subject, r.demand, r.details)}
                                      for r in rows])
        last = rows[-1].id


def upgrade() -> None:
    op.create_table('ticket_texts',
    sa.Column('ticket_id', BigId, nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_texts_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_texts'))
    )
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.create_index('ix_ticket_texts_words_tsv', 'ticket_texts', [sa.text("to_tsvector('simple', words)")],
                        postgresql_using='gin')
    _backfill()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    else:
        op.drop_index('ix_ticket_texts_words_tsv', table_name='ticket_texts')
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table('ticket_texts')
