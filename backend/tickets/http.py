"""HTTP routes of tickets: permission, parse, service, present (PII masked or audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from backend.attachments.models import OwnerKind
from backend.attachments.services import link_attachments
from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import problem
from backend.tickets.forms import TicketForm, ticket_forms
from backend.tickets.schemas import TicketIn, TicketOut, TicketPatch, TicketQuery
from backend.tickets.services import (
    StaleTicket,
    get_ticket,
    list_tickets,
    register,
    submit_ticket,
    update_ticket,
)
from backend.workflow.outcome import publish_notices, submitted_notices

router = APIRouter(prefix="/api", tags=["tickets"])

TicketReader = Annotated[Principal, Depends(allowed(Permission.ticket_read))]
TicketWriter = Annotated[Principal, Depends(allowed(Permission.ticket_write))]


@router.post("/tickets", response_model=TicketOut, status_code=201, summary="登记工单（submit=false 为暂存）")
async def create(body: TicketIn, ctx: Ctx, session: Session, principal: TicketWriter) -> TicketOut:
    ticket = await register(session, principal, ctx.clock, body)
    await link_attachments(session, principal, body.attachment_ids, OwnerKind.ticket, ticket.id)
    out = await present(TicketOut.of(ticket), principal, session)
    if body.submit:
        await publish_notices(session, ctx.bus, await submitted_notices(session, ticket))
    return out


# Declared before /tickets/{ticket_id}, which would otherwise take "forms" for an id.
@router.get("/tickets/forms", response_model=list[TicketForm], summary="各类工单的录入表单（字段、标签、类型、必填）")
async def forms(session: Session, _principal: TicketWriter) -> list[TicketForm]:
    return await ticket_forms(session)


@router.get("/tickets", response_model=list[TicketOut], summary="工单列表（本机构及下级，最新在前）")
async def tickets(session: Session, principal: TicketReader,
                  query: Annotated[TicketQuery, Query()]) -> list[TicketOut]:
    return await present([TicketOut.of(t) for t in await list_tickets(session, query)], principal, session)


@router.get("/tickets/{ticket_id}", response_model=TicketOut, summary="工单详情")
async def ticket(ticket_id: int, session: Session, principal: TicketReader) -> TicketOut:
    return await present(TicketOut.of(await get_ticket(session, ticket_id)), principal, session)


@router.patch("/tickets/{ticket_id}", response_model=TicketOut, summary="修改草稿或在办工单（需带 version）",
              responses={409: {"description": "版本已过期（正文含当前工单）或工单已办结"}})
async def edit(ticket_id: int, body: TicketPatch, request: Request, ctx: Ctx, session: Session,
               principal: TicketWriter) -> TicketOut | Response:
    try:
        ticket = await update_ticket(session, ctx.clock, ticket_id, body)
    except StaleTicket as stale:
        # Answered rather than raised: nothing was changed, and the audit row of an unmasked view must commit.
        current = await present(TicketOut.of(stale.ticket), principal, session)
        response: JSONResponse = problem(stale.status, stale.title, stale.code, stale.detail, request,
                                         current=current.model_dump(mode="json"))
        return response
    return await present(TicketOut.of(ticket), principal, session)


@router.post("/tickets/{ticket_id}/submit", response_model=TicketOut, summary="提交草稿")
async def submit(ticket_id: int, ctx: Ctx, session: Session, principal: TicketWriter) -> TicketOut:
    ticket = await submit_ticket(session, principal, ctx.clock, ticket_id)
    out = await present(TicketOut.of(ticket), principal, session)
    await publish_notices(session, ctx.bus, await submitted_notices(session, ticket))
    return out
