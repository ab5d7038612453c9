"""HTTP routes of the workflow: ticket actions, the handler's lists, a ticket's timeline and work items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from backend.attachments.models import OwnerKind
from backend.attachments.services import link_attachments, ticket_attachments
from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import problem
from backend.tickets.models import Ticket
from backend.tickets.schemas import TicketOut
from backend.tickets.services import StaleTicket
from backend.workflow import lists
from backend.workflow.allowed import AllowedActions, allowed_actions
from backend.workflow.models import HandlingRecord, WorkItem
from backend.workflow.outcome import publish_notices
from backend.workflow.schemas import (
    ActionIn,
    ActionOut,
    DoneOut,
    HandlingRecordOut,
    TicketLine,
    TodoOut,
    WorkItemOut,
)
from backend.workflow.services import act

router = APIRouter(prefix="/api", tags=["workflow"])

TicketReader = Annotated[Principal, Depends(allowed(Permission.ticket_read))]
Limit = Annotated[int, Query(ge=1, le=500)]


def record_out(record: HandlingRecord, actor_name: str | None = None, actor_org_name: str | None = None,
               target_org_name: str | None = None) -> HandlingRecordOut:
    return HandlingRecordOut(id=record.id, ticket_id=record.ticket_id, step=record.step, action=record.action,
                             actor_user_id=record.actor_user_id, actor_name=actor_name, actor_org_id=record.org_id,
                             actor_org_name=actor_org_name, target_org_name=target_org_name,
                             received_at=record.received_at, acted_at=record.acted_at, opinion=record.opinion,
                             target_org_id=record.target_org_id, target_user_id=record.target_user_id,
                             details=record.details)


def _item_out(item: WorkItem | None) -> WorkItemOut | None:
    return WorkItemOut.model_validate(item) if item is not None else None


@router.post("/tickets/{ticket_id}/actions", response_model=ActionOut,
             summary="办理工单（转办、上报、退回、会签、会签意见、拟办、审批、延期、外部鉴定、合并、答复、结案、重开、撤回、督办、催办）",
             responses={409: {"description": "版本已过期（正文含当前工单）、环节不允许或前置操作未完成"}})
async def action(ticket_id: int, body: ActionIn, request: Request, ctx: Ctx, session: Session,
                 principal: TicketReader) -> ActionOut | Response:
    try:
        result = await act(session, principal, ctx.clock, ticket_id, body)
    except StaleTicket as stale:
        # Answered rather than raised: nothing was written, and the audit row of an unmasked view must commit.
        current = await present(TicketOut.of(stale.ticket), principal, session)
        response: JSONResponse = problem(stale.status, stale.title, stale.code, stale.detail, request,
                                         current=current.model_dump(mode="json"))
        return response
    linked = await link_attachments(session, principal, body.attachment_ids, OwnerKind.handling_record,
                                    result.record.id)
    t = result.ticket
    out = ActionOut(ticket_id=t.id, version=t.version, status=t.status, org_id=t.org_id,
                    decision_due_at=t.decision_due_at, decision_days=t.decision_days,
                    record=record_out(result.record).model_copy(update={"attachment_ids": [a.id for a in linked]}),
                    work_item=_item_out(result.work_item),
                    work_items=[WorkItemOut.model_validate(i) for i in result.work_items])
    await publish_notices(session, ctx.bus, result.notices)
    return out


@router.get("/workflow/todo", response_model=list[TodoOut], summary="我的待办（督办、监管转办件在前，到期早的在前）")
async def my_todo(session: Session, principal: TicketReader, limit: Limit = 200) -> list[TodoOut]:
    return [TodoOut(**WorkItemOut.model_validate(item).model_dump(), ticket_number=t.number, ticket_type=t.type,
                    subject=t.subject, priority=t.priority, decision_due_at=t.decision_due_at)
            for item, t in await lists.todo(session, principal, limit)]


@router.get("/workflow/done", response_model=list[DoneOut], summary="我的已办（最近办理的在前）")
async def my_done(session: Session, principal: TicketReader, limit: Limit = 200) -> list[DoneOut]:
    return [DoneOut(ticket_id=r.ticket_id, ticket_number=number, last_action=r.action, last_acted_at=r.acted_at)
            for r, number in await lists.done(session, principal, limit)]


def _lines(tickets: list[Ticket]) -> list[TicketLine]:
    return [TicketLine.model_validate(t) for t in tickets]


@router.get("/workflow/closed", response_model=list[TicketLine], summary="我的已结案")
async def my_closed(session: Session, principal: TicketReader, limit: Limit = 200) -> list[TicketLine]:
    return _lines(await lists.closed_by_me(session, principal, limit))


@router.get("/workflow/supervised", response_model=list[TicketLine], summary="督办件（本机构及下级）")
async def supervised(session: Session, principal: TicketReader, limit: Limit = 200) -> list[TicketLine]:
    return _lines(await lists.supervised(session, limit))


@router.get("/workflow/due-soon", response_model=list[TicketLine], summary="将超期件与超期件（本机构及下级）")
async def due_soon(session: Session, principal: TicketReader, limit: Limit = 200) -> list[TicketLine]:
    return _lines(await lists.due_soon(session, limit))


@router.get("/tickets/{ticket_id}/timeline", response_model=list[HandlingRecordOut], summary="工单处理轨迹")
async def ticket_timeline(ticket_id: int, session: Session, principal: TicketReader) -> list[HandlingRecordOut]:
    records = await lists.timeline(session, ticket_id)
    files: dict[int, list[int]] = {}
    for attachment in await ticket_attachments(session, ticket_id):
        if attachment.owner_kind == OwnerKind.handling_record and attachment.owner_id is not None:
            files.setdefault(attachment.owner_id, []).append(attachment.id)
    return [record_out(r, name, org, target).model_copy(update={"attachment_ids": files.get(r.id, [])})
            for r, name, org, target in records]


@router.get("/tickets/{ticket_id}/allowed-actions", response_model=AllowedActions,
            summary="当前用户现在可对工单执行的操作（按钮；意见、目标等仍由办理接口校验）")
async def ticket_allowed_actions(ticket_id: int, session: Session, principal: TicketReader) -> AllowedActions:
    return await allowed_actions(session, principal, ticket_id)


@router.get("/tickets/{ticket_id}/work-items", response_model=list[WorkItemOut], summary="工单的办理环节（含会签、审批）")
async def ticket_work_items(ticket_id: int, session: Session, principal: TicketReader) -> list[WorkItemOut]:
    return [WorkItemOut.model_validate(i) for i in await lists.work_items(session, ticket_id)]
