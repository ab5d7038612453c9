"""Knowledge base: categories, articles, their review history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# The categories every insurer starts with; more are added in the console (POST /api/kb/categories).
SEED_CATEGORIES = [
    {'code': 'law', 'name': '法律法规', 'sort_order': 10, 'active': True},
    {'code': 'regulatory_notice', 'name': '监管发文', 'sort_order': 20, 'active': True},
    {'code': 'company_policy', 'name': '公司制度', 'sort_order': 30, 'active': True},
    {'code': 'insurance_knowledge', 'name': '保险知识', 'sort_order': 40, 'active': True},
    {'code': 'typical_case', 'name': '典型案例', 'sort_order': 50, 'active': True},
    {'code': 'handling_experience', 'name': '办理经验', 'sort_order': 60, 'active': True},
]


def upgrade() -> None:
    kb_categories = op.create_table('kb_categories',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_kb_categories_code')),
    sa.UniqueConstraint('name', name=op.f('uq_kb_categories_name'))
    )
    op.bulk_insert(kb_categories, SEED_CATEGORIES)

    op.create_table('kb_articles',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('category_id', BIG_ID, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('tags_key', sa.String(length=400), nullable=False),
    sa.Column('attachment_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('published_org_id', BIG_ID, nullable=True),
    sa.Column('author_id', BIG_ID, nullable=True),
    sa.Column('reviewer_id', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_articles_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_articles_category_id_kb_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_kb_articles_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_org_id'], ['orgs.id'], name=op.f('fk_kb_articles_published_org_id_orgs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_kb_articles_reviewer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles'))
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_articles_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_kb_articles_org_status', ['org_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_published_org_id'), ['published_org_id'], unique=False)
        batch_op.create_index('ix_kb_articles_status_published', ['status', 'published_at'], unique=False)

    op.create_table('kb_article_reviews',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('article_id', BIG_ID, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor_id', BIG_ID, nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_kb_article_reviews_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_reviews_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_kb_article_reviews_org_id_orgs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_reviews'))
    )
    with op.batch_alter_table('kb_article_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_reviews_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_reviews_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_article_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_article_reviews_org_id'))
        batch_op.drop_index(batch_op.f('ix_kb_article_reviews_article_id'))
    op.drop_table('kb_article_reviews')

    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_articles_status_published')
        batch_op.drop_index(batch_op.f('ix_kb_articles_published_org_id'))
        batch_op.drop_index('ix_kb_articles_org_status')
        batch_op.drop_index(batch_op.f('ix_kb_articles_org_id'))
        batch_op.drop_index(batch_op.f('ix_kb_articles_category_id'))
        batch_op.drop_index(batch_op.f('ix_kb_articles_author_id'))
    op.drop_table('kb_articles')
    op.drop_table('kb_categories')
