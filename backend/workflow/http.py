"""HTTP routes of the workflow: ticket actions, 我的待办, 我的已办, a ticket's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import problem
from backend.tickets.schemas import TicketOut
from backend.tickets.services import StaleTicket
from backend.workflow.models import HandlingRecord, WorkItem
from backend.workflow.schemas import ActionIn, ActionOut, DoneOut, HandlingRecordOut, TodoOut, WorkItemOut
from backend.workflow.services import act, done, timeline, todo

router = APIRouter(prefix="/api", tags=["workflow"])

TicketReader = Annotated[Principal, Depends(allowed(Permission.ticket_read))]
TicketHandler = Annotated[Principal, Depends(allowed(Permission.ticket_handle))]


def _record_out(record: HandlingRecord, actor_name: str | None = None) -> HandlingRecordOut:
    return HandlingRecordOut(id=record.id, ticket_id=record.ticket_id, step=record.step, action=record.action,
                             actor_user_id=record.actor_user_id, actor_name=actor_name, actor_org_id=record.org_id,
                             received_at=record.received_at, acted_at=record.acted_at, opinion=record.opinion,
                             target_org_id=record.target_org_id, target_user_id=record.target_user_id,
                             details=record.details)


def _item_out(item: WorkItem | None) -> WorkItemOut | None:
    return WorkItemOut.model_validate(item) if item is not None else None


@router.post("/tickets/{ticket_id}/actions", response_model=ActionOut, summary="办理工单（转办、上报、退回、答复、结案、重开、撤回）",
             responses={409: {"description": "版本已过期（正文含当前工单）、环节不允许或前置操作未完成"}})
async def action(ticket_id: int, body: ActionIn, request: Request, ctx: Ctx, session: Session,
                 principal: TicketHandler) -> ActionOut | Response:
    try:
        result = await act(session, principal, ctx.clock, ticket_id, body)
    except StaleTicket as stale:
        # Answered rather than raised: nothing was written, and the audit row of an unmasked view must commit.
        current = await present(TicketOut.of(stale.ticket), principal, session)
        response: JSONResponse = problem(stale.status, stale.title, stale.code, stale.detail, request,
                                         current=current.model_dump(mode="json"))
        return response
    t = result.ticket
    return ActionOut(ticket_id=t.id, version=t.version, status=t.status, org_id=t.org_id,
                     record=_record_out(result.record), work_item=_item_out(result.work_item))


@router.get("/workflow/todo", response_model=list[TodoOut], summary="我的待办（到期早的在前）")
async def my_todo(session: Session, principal: TicketReader) -> list[TodoOut]:
    return [TodoOut(**WorkItemOut.model_validate(item).model_dump(), ticket_number=t.number, ticket_type=t.type,
                    subject=t.subject) for item, t in await todo(session, principal)]


@router.get("/workflow/done", response_model=list[DoneOut], summary="我的已办（最近办理的在前）")
async def my_done(session: Session, principal: TicketReader) -> list[DoneOut]:
    return [DoneOut(ticket_id=r.ticket_id, ticket_number=number, last_action=r.action, last_acted_at=r.acted_at)
            for r, number in await done(session, principal)]


@router.get("/tickets/{ticket_id}/timeline", response_model=list[HandlingRecordOut], summary="工单处理轨迹")
async def ticket_timeline(ticket_id: int, session: Session, principal: TicketReader) -> list[HandlingRecordOut]:
    return [_record_out(r, name) for r, name in await timeline(session, ticket_id)]
