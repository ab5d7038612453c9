"""Tables of the knowledge base: categories (shared configuration), articles and their review history.

An article belongs to the org of the user who wrote it. Who may read it is decided by
backend.knowledge.visibility; writing and reviewing follow the ordinary org scoping.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class ArticleStatus(enum.StrEnum):
    draft = "draft"  # 草稿
    submitted = "submitted"  # 待审核
    published = "published"  # 已发布
    returned = "returned"  # 已退回
    archived = "archived"  # 已归档


class Visibility(enum.StrEnum):
    subtree = "subtree"  # the publishing reviewer's org and everything beneath it
    all = "all"  # the whole company; published only by a head-office reviewer


class ReviewAction(enum.StrEnum):
    submit = "submit"  # 提交审核
    publish = "publish"  # 发布
    return_ = "return"  # 退回
    archive = "archive"  # 归档
    revise = "revise"  # a reviewer edited a published article: back to draft until published again


class KbCategory(Base):
    """One category of articles. Shared reference data, not org data: every org files under the same list."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class KbArticle(OrgScoped, Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("kb_categories.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)  # sanitised (backend.knowledge.sanitize)
    body_text: Mapped[str] = mapped_column(Text)  # the body's plain text, for snippets
    # jieba words of title, summary and body, space-separated (backend.core.text.segment).
    search_text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The same tags as "|a|b|", so one portable LIKE filters by tag on both databases.
    tags_key: Mapped[str] = mapped_column(String(400), default="|")
    # Ids of rows in backend.attachments (the link is checked there, not here).
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    # The org whose subtree reads it while published: the publishing reviewer's org (backend.knowledge.visibility).
    published_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)  # claimed by every change (backend.knowledge.services)

    __table_args__ = (
        Index("ix_kb_articles_status_published", "status", "published_at"),
        Index("ix_kb_articles_org_status", "org_id", "status"),
    )


class KbArticleReview(OrgScoped, Base):
    """One step of an article's review: who did what, when, with which comment. Org: the article's."""

    __tablename__ = "kb_article_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int]  # the article's version after this step
