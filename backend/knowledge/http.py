"""HTTP routes of the knowledge base (知识库): categories, articles, the review flow, search."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.attachments.models import OwnerKind
from backend.attachments.services import link_attachments
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import problem
from backend.knowledge.models import KbArticle
from backend.knowledge.schemas import (
    ArticleHit,
    ArticleIn,
    ArticleOut,
    ArticlePatch,
    ArticleQuery,
    CategoryIn,
    CategoryOut,
    PublishIn,
    ReturnIn,
    ReviewIn,
    ReviewOut,
)
from backend.knowledge.search import search
from backend.knowledge.services import (
    ArticleConflict,
    add_category,
    archive_article,
    categories,
    create_article,
    edit_article,
    history,
    names,
    publish_article,
    readable_article,
    return_article,
    submit_article,
)

router = APIRouter(prefix="/api/kb", tags=["knowledge"])

Reader = Annotated[Principal, Depends(allowed(Permission.kb_read))]
Writer = Annotated[Principal, Depends(allowed(Permission.kb_write))]
Reviewer = Annotated[Principal, Depends(allowed(Permission.kb_review))]
CONFLICT = {409: {"description": "版本已过期或状态不允许（正文 current 为当前文章）"}}


async def _out(session: AsyncSession, article: KbArticle) -> ArticleOut:
    return ArticleOut(id=article.id, org_id=article.org_id, title=article.title, summary=article.summary,
                      body_html=article.body_html, tags=list(article.tags), attachment_ids=list(article.attachment_ids),
                      status=article.status, visibility=article.visibility, published_org_id=article.published_org_id,
                      author_id=article.author_id, reviewer_id=article.reviewer_id, created_at=article.created_at,
                      updated_at=article.updated_at, submitted_at=article.submitted_at,
                      published_at=article.published_at, version=article.version, **await names(session, article))


async def _changed(change: Awaitable[KbArticle], request: Request, session: AsyncSession) -> ArticleOut | Response:
    try:
        return await _out(session, await change)
    except ArticleConflict as refused:
        # Nothing was changed; the editor gets what is stored now to merge against.
        current = await _out(session, refused.article)
        return problem(refused.status, refused.title, refused.code, refused.detail, request,
                       current=current.model_dump(mode="json"))


@router.get("/categories", response_model=list[CategoryOut], summary="知识分类（按顺序）")
async def category_list(session: Session, _principal: Reader) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c) for c in await categories(session)]


@router.post("/categories", response_model=CategoryOut, status_code=201, summary="新增知识分类（总公司审核人）")
async def category_add(body: CategoryIn, session: Session, principal: Reviewer) -> CategoryOut:
    return CategoryOut.model_validate(await add_category(session, principal, body.code, body.name, body.sort_order))


@router.get("/articles", response_model=list[ArticleHit],
            summary="搜索知识（默认已发布；mine=true 我的文章；status 供审核人查待审核等）")
async def article_search(session: Session, principal: Reader,
                         query: Annotated[ArticleQuery, Query()]) -> list[ArticleHit]:
    return [ArticleHit(**asdict(hit)) for hit in await search(session, principal, query)]


@router.get("/articles/{article_id}", response_model=ArticleOut, summary="知识详情（未发布的仅作者和审核人可看）")
async def article(article_id: int, session: Session, principal: Reader) -> ArticleOut:
    return await _out(session, await readable_article(session, principal, article_id))


@router.post("/articles", response_model=ArticleOut, status_code=201, summary="新建知识草稿")
async def article_create(body: ArticleIn, ctx: Ctx, session: Session, principal: Writer) -> ArticleOut:
    article = await create_article(session, principal, ctx.clock, body)
    await link_attachments(session, principal, article.attachment_ids, OwnerKind.kb_article, article.id)
    return await _out(session, article)


@router.patch("/articles/{article_id}", response_model=ArticleOut, responses=CONFLICT,
              summary="修改草稿或退回的文章（需带 version；审核人修改已发布文章会使其回到草稿）")
async def article_edit(article_id: int, body: ArticlePatch, request: Request, ctx: Ctx, session: Session,
                       principal: Writer) -> ArticleOut | Response:
    async def edited() -> KbArticle:
        article = await edit_article(session, principal, ctx.clock, article_id, body)
        if body.attachment_ids:
            await link_attachments(session, principal, article.attachment_ids, OwnerKind.kb_article, article.id)
        return article

    return await _changed(edited(), request, session)


@router.post("/articles/{article_id}/submit", response_model=ArticleOut, responses=CONFLICT, summary="提交审核")
async def article_submit(article_id: int, request: Request, ctx: Ctx, session: Session, principal: Writer,
                         body: ReviewIn | None = None) -> ArticleOut | Response:
    return await _changed(submit_article(session, principal, ctx.clock, article_id, body or ReviewIn()),
                          request, session)


@router.post("/articles/{article_id}/publish", response_model=ArticleOut, responses=CONFLICT, summary="审核通过并发布")
async def article_publish(article_id: int, request: Request, ctx: Ctx, session: Session, principal: Reviewer,
                          body: PublishIn | None = None) -> ArticleOut | Response:
    return await _changed(publish_article(session, principal, ctx.clock, article_id, body or PublishIn()),
                          request, session)


@router.post("/articles/{article_id}/return", response_model=ArticleOut, responses=CONFLICT, summary="退回（须填写意见）")
async def article_return(article_id: int, body: ReturnIn, request: Request, ctx: Ctx, session: Session,
                         principal: Reviewer) -> ArticleOut | Response:
    return await _changed(return_article(session, principal, ctx.clock, article_id, body), request, session)


@router.post("/articles/{article_id}/archive", response_model=ArticleOut, responses=CONFLICT, summary="归档已发布的文章")
async def article_archive(article_id: int, request: Request, ctx: Ctx, session: Session, principal: Reviewer,
                          body: ReviewIn | None = None) -> ArticleOut | Response:
    return await _changed(archive_article(session, principal, ctx.clock, article_id, body or ReviewIn()),
                          request, session)


@router.get("/articles/{article_id}/history", response_model=list[ReviewOut], summary="审核记录（作者和审核人）")
async def article_history(article_id: int, session: Session, principal: Reader) -> list[ReviewOut]:
    return [ReviewOut(id=r.id, action=r.action, actor_id=r.actor_id, actor_name=name, acted_at=r.acted_at,
                      comment=r.comment, version=r.version) for r, name in await history(session, principal, article_id)]
