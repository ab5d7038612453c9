"""Finding knowledge articles: jieba words, category and tag filters, snippets around the first hit.

Each article stores its words (title, summary and body as jieba cut them for search) space-separated in
``search_text``. A query is cut with the precise cut and every word must appear as a whole word:
``' ' || search_text || ' ' LIKE '% word %'``. The same SQL runs on SQLite and PostgreSQL; it scans the
published rows, which is fine for a knowledge base of thousands of articles (ticket search, with far more
rows, has its own full-text index in backend.search).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.text import query_words
from backend.knowledge.models import ArticleStatus, KbArticle, KbCategory
from backend.knowledge.schemas import ArticleQuery
from backend.knowledge.visibility import published_readable
from backend.orgs.models import Org

SNIPPET_CHARS = 80
MAX_QUERY_WORDS = 10


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    category: str
    category_name: str
    tags: list[str]
    status: str
    org_id: int
    org_name: str
    snippet: str
    published_at: datetime | None
    updated_at: datetime
    version: int


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def snippet(text: str, words: list[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first place any of ``words`` occurs (its start when
    none does), with an ellipsis where it was cut."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    found = [i for i in (lowered.find(w) for w in words) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    start = min(start, len(flat) - width)
    out = flat[start:start + width]
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(flat) else "")


def _snippet_of(summary: str | None, body: str, words: list[str]) -> str:
    for text in (body, summary or ""):
        lowered = text.lower()
        if any(w in lowered for w in words):
            return snippet(text, words)
    return snippet(summary or body, [])


_COLUMNS = (KbArticle.id, KbArticle.title, KbCategory.code.label("category_code"),
            KbCategory.name.label("category_name"), KbArticle.tags, KbArticle.status, KbArticle.org_id,
            Org.name.label("org_name"), KbArticle.summary, KbArticle.body_text, KbArticle.published_at,
            KbArticle.updated_at, KbArticle.version)


def _base(principal: Principal, q: ArticleQuery) -> Select[Any]:
    """Which articles the listing draws from: the caller's own (any state), those of a state only reviewers
    follow (ordinary scope), or by default the published ones the caller may read (tree-wide by design)."""
    if q.mine:
        stmt = select(*_COLUMNS).where(KbArticle.author_id == principal.user_id)
        return stmt.where(KbArticle.status == q.status) if q.status is not None else stmt
    if q.status is not None and q.status != ArticleStatus.published:
        principal.require(Permission.kb_review)
        return select(*_COLUMNS).where(KbArticle.status == q.status)
    return published_readable(principal, *_COLUMNS)


async def search(session: AsyncSession, principal: Principal, q: ArticleQuery) -> list[Hit]:
    # The first cut loads jieba's dictionary (about a second): off the event loop like any jieba work.
    words = (await asyncio.to_thread(query_words, q.q))[:MAX_QUERY_WORDS] if q.q else []
    stmt = (_base(principal, q).join(KbCategory, KbCategory.id == KbArticle.category_id)
            .join(Org, Org.id == KbArticle.org_id))
    if q.category is not None:
        stmt = stmt.where(KbCategory.code == q.category)
    if q.tag is not None:
        stmt = stmt.where(KbArticle.tags_key.like(f"%|{like_escape(q.tag.strip())}|%", escape="\\"))
    padded = literal(" ") + KbArticle.search_text + literal(" ")
    for word in words:
        stmt = stmt.where(padded.like(f"% {like_escape(word)} %", escape="\\"))
    title = func.lower(KbArticle.title)
    title_hits = sum((case((title.like(f"%{like_escape(w)}%", escape="\\"), 1), else_=0) for w in words),
                     start=literal(0))
    order = [title_hits.desc()] if words else []
    if q.mine or (q.status is not None and q.status != ArticleStatus.published):
        order.append(KbArticle.updated_at.desc())
    else:
        order.append(KbArticle.published_at.desc())
    stmt = stmt.order_by(*order, KbArticle.id.desc()).limit(q.limit).offset(q.offset)
    rows = (await session.execute(stmt)).all()
    return [Hit(id=r.id, title=r.title, category=r.category_code, category_name=r.category_name,
                tags=list(r.tags or []), status=r.status, org_id=r.org_id, org_name=r.org_name,
                snippet=_snippet_of(r.summary, r.body_text, words), published_at=r.published_at,
                updated_at=r.updated_at, version=r.version)
            for r in rows]
