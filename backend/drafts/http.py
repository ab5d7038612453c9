"""HTTP routes of form drafts (表单草稿): autosave, restore, list, discard — each user their own only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from backend.auth.deps import Ctx, CurrentPrincipal, Session
from backend.core.problems import problem
from backend.drafts.schemas import FORM_KEY_PATTERN, DraftIn, DraftLine, DraftOut
from backend.drafts.services import StaleDraft, delete_draft, get_draft, list_drafts, save_draft

router = APIRouter(prefix="/api", tags=["drafts"])

FormKey = Annotated[str, Path(pattern=FORM_KEY_PATTERN, description="表单标识，如 ticket:complaint:call:<通话编号>")]


@router.put("/drafts/{form_key}", response_model=DraftOut, summary="自动保存表单草稿（覆盖同一表单的草稿）",
            responses={409: {"description": "版本已过期（正文 current 为当前草稿）"},
                       413: {"description": "草稿内容超过 64 KiB"}})
async def save(form_key: FormKey, body: DraftIn, request: Request, ctx: Ctx, session: Session,
               principal: CurrentPrincipal) -> DraftOut | Response:
    try:
        draft = await save_draft(session, principal, ctx.clock, form_key, body)
    except StaleDraft as stale:
        # The other tab's draft, so this one can take its version and save again.
        current = DraftOut.model_validate(stale.draft)
        return problem(stale.status, stale.title, stale.code, stale.detail, request,
                       current=current.model_dump(mode="json"))
    return DraftOut.model_validate(draft)


@router.get("/drafts", response_model=list[DraftLine], summary="我的表单草稿（最近保存的在前，最多 50 条）")
async def drafts(session: Session, principal: CurrentPrincipal,
                 prefix: Annotated[str | None, Query(max_length=128, description="表单标识前缀，如 ticket:")] = None,
                 ) -> list[DraftLine]:
    return [DraftLine.model_validate(d) for d in await list_drafts(session, principal, prefix)]


@router.get("/drafts/{form_key}", response_model=DraftOut, summary="读取表单草稿")
async def draft(form_key: FormKey, session: Session, principal: CurrentPrincipal) -> DraftOut:
    return DraftOut.model_validate(await get_draft(session, principal, form_key))


@router.delete("/drafts/{form_key}", status_code=204, summary="删除表单草稿（不存在也返回 204）")
async def discard(form_key: FormKey, session: Session, principal: CurrentPrincipal) -> Response:
    await delete_draft(session, principal, form_key)
    return Response(status_code=204)
