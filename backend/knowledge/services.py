"""Writing and reviewing knowledge articles: draft → submitted → published (or returned → resubmitted),
published → archived, and reading one article with its history.

Every change loads the article through the ordinary org scope first (outside the subtree: not found), then
claims its next version with one ``UPDATE … WHERE version = :v`` (or ``WHERE status IN …`` for review steps
sent without a version): of two writers at once exactly one changes the row, the other gets a conflict
carrying the current article. All checks that depend on the article's state run on the row as claimed, so a
refusal rolls the claim back with everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.problems import Conflict, Forbidden, Invalid, NotFound
from backend.core.text import segment
from backend.knowledge.models import ArticleStatus, KbArticle, KbArticleReview, KbCategory, ReviewAction, Visibility
from backend.knowledge.sanitize import sanitise
from backend.knowledge.schemas import ArticleIn, ArticlePatch, PublishIn, ReturnIn, ReviewIn
from backend.knowledge.visibility import may_manage, path_ids, published_readable
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree

EDITABLE = (ArticleStatus.draft, ArticleStatus.returned)


class ArticleNotFound(NotFound):
    title, code = "文章不存在", "kb-article-not-found"


STATUS_LABELS = {ArticleStatus.draft: "草稿", ArticleStatus.submitted: "待审核", ArticleStatus.published: "已发布",
                 ArticleStatus.returned: "已退回", ArticleStatus.archived: "已归档"}


class ArticleConflict(Conflict):
    """A refused change that left the article as it is; ``article`` is what is stored now."""

    def __init__(self, article: KbArticle, detail: str) -> None:
        super().__init__(detail)
        self.article = article


class StaleArticle(ArticleConflict):
    title, code = "文章已被他人修改，请刷新后重试", "kb-article-stale"

    def __init__(self, article: KbArticle) -> None:
        super().__init__(article, f"文章当前版本为 {article.version}")


class ArticleLocked(ArticleConflict):
    title, code = "文章当前状态不能执行此操作", "kb-article-state"


def _field_error(field: str, message: str, kind: str = "invalid") -> Invalid:
    return Invalid(message, errors=[{"field": field, "type": kind, "message": message}])


# --- categories


async def categories(session: AsyncSession) -> list[KbCategory]:
    stmt = select(KbCategory).where(KbCategory.active.is_(True)).order_by(KbCategory.sort_order, KbCategory.id)
    return list(await session.scalars(stmt))


async def add_category(session: AsyncSession, principal: Principal, code: str, name: str,
                       sort_order: int) -> KbCategory:
    """Categories are shared by the whole company, so only head-office reviewers add them."""
    if not principal.at_head_office:
        raise Forbidden("知识分类为全公司共用，仅总公司审核人可以新增")
    for column, value, field in ((KbCategory.code, code, "code"), (KbCategory.name, name, "name")):
        if await session.scalar(select(KbCategory.id).where(column == value)) is not None:
            raise Conflict(f"分类「{value}」已存在", errors=[{"field": field, "type": "duplicate",
                                                            "message": "已存在"}])
    category = KbCategory(code=code, name=name, sort_order=sort_order, active=True)
    session.add(category)
    try:
        await session.flush()
    except IntegrityError as taken:  # the same category added by someone else at this very moment
        raise Conflict(f"分类「{code}」或「{name}」已存在") from taken
    return category


async def _category(session: AsyncSession, code: str) -> KbCategory:
    category = await session.scalar(select(KbCategory).where(KbCategory.code == code))
    if category is None or not category.active:
        raise _field_error("category", f"分类「{code}」不存在", "unknown_code")
    return category


# --- content


@dataclass(frozen=True)
class _Content:
    body_html: str
    body_text: str
    search_text: str


def _prepare(title: str, summary: str | None, body_html: str) -> _Content:
    clean = sanitise(body_html)
    return _Content(clean.html, clean.text, segment(title, summary, clean.text))


async def _apply_content(article: KbArticle, title: str, summary: str | None, body_html: str) -> None:
    # Sanitising and segmenting a long body is CPU work: off the event loop.
    content = await asyncio.to_thread(_prepare, title, summary, body_html)
    article.title, article.summary = title, summary or None
    article.body_html, article.body_text, article.search_text = content.body_html, content.body_text, content.search_text


def _set_tags(article: KbArticle, tags: list[str]) -> None:
    article.tags = tags
    article.tags_key = "|" + "".join(f"{t}|" for t in tags)


async def create_article(session: AsyncSession, principal: Principal, clock: Clock, body: ArticleIn) -> KbArticle:
    """A new draft owned by the author's org."""
    category = await _category(session, body.category)
    now = clock.now()
    article = KbArticle(org_id=principal.org_id, category_id=category.id, status=ArticleStatus.draft,
                        visibility=body.visibility, attachment_ids=list(body.attachment_ids),
                        author_id=principal.user_id, created_at=now, updated_at=now, version=1)
    _set_tags(article, body.tags)
    await _apply_content(article, body.title, body.summary, body.body_html)
    session.add(article)
    await session.flush()
    return article


# --- loading


async def _scoped(session: AsyncSession, article_id: int) -> KbArticle | None:
    # A SELECT, never session.get: an article read tree-wide earlier in this session must not be found in the
    # identity map by a write that requires the ordinary scope.
    stmt = select(KbArticle).where(KbArticle.id == article_id).execution_options(populate_existing=True)
    return (await session.scalars(stmt)).first()


async def readable_article(session: AsyncSession, principal: Principal, article_id: int) -> KbArticle:
    """The article if ``principal`` may read it: published for them, or theirs to manage (see visibility)."""
    article = await _scoped(session, article_id)
    if article is not None and (article.status == ArticleStatus.published or may_manage(principal, article)):
        return article
    article = (await session.scalars(published_readable(principal).where(KbArticle.id == article_id))).first()
    if article is None:
        raise ArticleNotFound("文章不存在或无权查看")
    return article


async def managed_article(session: AsyncSession, principal: Principal, article_id: int) -> KbArticle:
    """The article if ``principal`` is its author or a reviewer at its org or above; 404 when they cannot even
    read it, 403 when they can read but not manage it."""
    article = await _scoped(session, article_id)
    if article is not None and may_manage(principal, article):
        return article
    await readable_article(session, principal, article_id)
    raise Forbidden("仅作者和审核人可以操作或查看审核记录")


async def _claim(session: AsyncSession, article: KbArticle, now: Any, version: int | None,
                 statuses: Collection[ArticleStatus]) -> KbArticle:
    """Take the article's next version if it is still in one of ``statuses`` (and at ``version``, when given);
    from then on this transaction holds the row. Otherwise raise a conflict carrying the current article."""
    stmt = update(KbArticle).where(KbArticle.id == article.id, KbArticle.status.in_(list(statuses)))
    if version is not None:
        stmt = stmt.where(KbArticle.version == version)
    result = await session.execute(stmt.values(version=KbArticle.version + 1, updated_at=now)
                                   .execution_options(synchronize_session=False))
    current = await _scoped(session, article.id)
    if current is None:
        raise ArticleNotFound("文章不存在")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if version is not None and current.version != version:
            raise StaleArticle(current)
        raise _locked(current)
    return current


def _locked(article: KbArticle, detail: str | None = None) -> ArticleLocked:
    label = STATUS_LABELS.get(ArticleStatus(article.status), article.status)
    return ArticleLocked(article, detail or f"文章当前状态为「{label}」，不能执行此操作")


Check = Callable[[KbArticle], Awaitable[None]]


async def _step(session: AsyncSession, principal: Principal, clock: Clock, article_id: int, version: int | None,
                statuses: Collection[ArticleStatus], check: Check | None = None) -> tuple[KbArticle, datetime]:
    """Load the article the caller manages, check it as loaded (a refusal here reports exactly what is
    stored), then claim it. Whatever could change between the two is guarded by the claim's WHERE."""
    article = await managed_article(session, principal, article_id)
    if version is not None and article.version != version:
        raise StaleArticle(article)
    if article.status not in statuses:
        raise _locked(article)
    if check is not None:
        await check(article)
    now = clock.now()
    return await _claim(session, article, now, version, statuses), now


def _history(article: KbArticle, action: ReviewAction, principal: Principal, now: Any,
             comment: str | None) -> KbArticleReview:
    return KbArticleReview(org_id=article.org_id, article_id=article.id, action=action, actor_id=principal.user_id,
                           acted_at=now, comment=comment or None, version=article.version)


async def _covers_audience(session: AsyncSession, principal: Principal, article: KbArticle) -> bool:
    """A published article may be changed only by a reviewer at or above the org it was published for."""
    if article.published_org_id is None:
        return True
    audience_path = await session.scalar(select(Org.path).where(Org.id == article.published_org_id))
    return principal.org_id in path_ids(audience_path or "")


# --- editing and the flow


async def edit_article(session: AsyncSession, principal: Principal, clock: Clock, article_id: int,
                       patch: ArticlePatch) -> KbArticle:
    """Change a draft or returned article; a reviewer may also change a published one, which takes it back to
    draft (unpublished) until it is published again."""

    async def published_needs_reviewer(article: KbArticle) -> None:
        if article.status == ArticleStatus.published and not (
                principal.can(Permission.kb_review) and await _covers_audience(session, principal, article)):
            raise _locked(article, "已发布的文章只能由发布机构或上级的审核人修改")

    changes = patch.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("category", "title", "body_html", "tags", "attachment_ids", "visibility"):
        if required in changes and changes[required] is None:
            raise _field_error(required, "不能为空", "missing")
    category = await _category(session, changes["category"]) if "category" in changes else None
    article, now = await _step(session, principal, clock, article_id, patch.version,
                               (*EDITABLE, ArticleStatus.published), published_needs_reviewer)
    if article.status == ArticleStatus.published:
        article.status, article.published_at, article.published_org_id = ArticleStatus.draft, None, None
        session.add(_history(article, ReviewAction.revise, principal, now, None))
    if category is not None:
        article.category_id = category.id
    if "tags" in changes:
        _set_tags(article, changes["tags"])
    if "attachment_ids" in changes:
        article.attachment_ids = list(changes["attachment_ids"])
    if "visibility" in changes:
        article.visibility = changes["visibility"]
    if {"title", "summary", "body_html"} & changes.keys():
        summary = changes["summary"] if "summary" in changes else article.summary
        await _apply_content(article, changes.get("title", article.title), summary,
                             changes.get("body_html", article.body_html))
    return article


async def submit_article(session: AsyncSession, principal: Principal, clock: Clock, article_id: int,
                         body: ReviewIn) -> KbArticle:
    """Draft or returned → submitted for review; the body must say something."""
    article, now = await _step(session, principal, clock, article_id, body.version, EDITABLE)
    if not article.body_text.strip() and "<img" not in article.body_html:
        raise _field_error("body_html", "正文不能为空，不能提交审核", "missing")
    article.status, article.submitted_at = ArticleStatus.submitted, now
    session.add(_history(article, ReviewAction.submit, principal, now, body.comment))
    return article


async def publish_article(session: AsyncSession, principal: Principal, clock: Clock, article_id: int,
                          body: PublishIn) -> KbArticle:
    """Submitted → published for the reviewer's org and its subtree, or for the whole company."""
    principal.require(Permission.kb_review)

    async def company_wide_needs_head_office(article: KbArticle) -> None:
        if (body.visibility or article.visibility) == Visibility.all and not principal.at_head_office:
            raise Forbidden("全公司可见的知识须由总公司审核人发布，可改为本机构范围发布或退回")

    article, now = await _step(session, principal, clock, article_id, body.version, (ArticleStatus.submitted,),
                               company_wide_needs_head_office)
    article.status, article.visibility = ArticleStatus.published, body.visibility or article.visibility
    article.published_at, article.published_org_id, article.reviewer_id = now, principal.org_id, principal.user_id
    session.add(_history(article, ReviewAction.publish, principal, now, body.comment))
    return article


async def return_article(session: AsyncSession, principal: Principal, clock: Clock, article_id: int,
                         body: ReturnIn) -> KbArticle:
    """Submitted → returned to its author with the reviewer's comment."""
    principal.require(Permission.kb_review)
    article, now = await _step(session, principal, clock, article_id, body.version, (ArticleStatus.submitted,))
    article.status, article.reviewer_id = ArticleStatus.returned, principal.user_id
    session.add(_history(article, ReviewAction.return_, principal, now, body.comment))
    return article


async def archive_article(session: AsyncSession, principal: Principal, clock: Clock, article_id: int,
                          body: ReviewIn) -> KbArticle:
    """Published → archived: no longer found by readers."""
    principal.require(Permission.kb_review)

    async def audience_reviewer(article: KbArticle) -> None:
        if not await _covers_audience(session, principal, article):
            raise Forbidden("仅发布机构或上级的审核人可以归档此文章")

    article, now = await _step(session, principal, clock, article_id, body.version, (ArticleStatus.published,),
                               audience_reviewer)
    article.status, article.reviewer_id = ArticleStatus.archived, principal.user_id
    session.add(_history(article, ReviewAction.archive, principal, now, body.comment))
    return article


# --- reading


async def history(session: AsyncSession, principal: Principal,
                  article_id: int) -> list[tuple[KbArticleReview, str | None]]:
    """The review steps of an article its author or reviewer is looking at, in order, with actor names."""
    await managed_article(session, principal, article_id)
    # Rows of an article the caller manages; the actors (a reviewer above the author) may sit outside the subtree.
    stmt = across_org_tree(select(KbArticleReview, User.display_name)
                           .outerjoin(User, User.id == KbArticleReview.actor_id)
                           .where(KbArticleReview.article_id == article_id)
                           .order_by(KbArticleReview.acted_at, KbArticleReview.id))
    return [(row, name) for row, name in (await session.execute(stmt)).all()]


async def names(session: AsyncSession, article: KbArticle) -> dict[str, Any]:
    """The names an article is shown with: category, owning org, author and reviewer (wherever they sit)."""
    category = await session.get(KbCategory, article.category_id)
    org_name = await session.scalar(select(Org.name).where(Org.id == article.org_id))
    people = {article.author_id, article.reviewer_id} - {None}
    stmt = across_org_tree(select(User.id, User.display_name).where(User.id.in_(people)))
    by_id = {uid: name for uid, name in (await session.execute(stmt)).all()} if people else {}
    assert category is not None
    return {"category": category.code, "category_name": category.name, "org_name": org_name or "",
            "author_name": by_id.get(article.author_id), "reviewer_name": by_id.get(article.reviewer_id)}
