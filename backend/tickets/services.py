"""Registering, editing, submitting and reading tickets within the caller's org subtree.

The session's scope does the subtree filtering (backend.orgs.scope): a ticket outside it is "not found".
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.codes.services import find
from backend.core.clock import Clock
from backend.core.db import filtered
from backend.core.problems import Conflict, Invalid, NotFound
from backend.directory.models import Customer
from backend.search.indexer import index_ticket
from backend.tickets.deadlines import DECISION_DAYS, decision_due
from backend.tickets.details import validated
from backend.tickets.models import Priority, Ticket, TicketStatus, TicketType
from backend.tickets.numbering import SHANGHAI, next_number
from backend.tickets.risk import risk_flags
from backend.tickets.schemas import TicketIn, TicketPatch, TicketQuery
from backend.workflow.engine import start as start_workflow


class TicketNotFound(NotFound):
    title, code = "工单不存在", "ticket-not-found"


class TicketClosed(Conflict):
    title, code = "工单已办结，不能修改", "ticket-closed"


class NotADraft(Conflict):
    title, code = "工单已提交", "ticket-not-draft"


class StaleTicket(Conflict):
    """The editor's version is not the current one; ``ticket`` is what is stored now."""

    title, code = "工单已被他人修改，请刷新后重试", "ticket-stale"

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"工单当前版本为 {ticket.version}")
        self.ticket = ticket


async def _check_references(session: AsyncSession, fields: dict[str, Any]) -> None:
    if fields.get("channel") is not None and await find(session, "channel", fields["channel"]) is None:
        raise Invalid(f"渠道「{fields['channel']}」不存在",
                      errors=[{"field": "channel", "type": "unknown_code", "message": "渠道不存在"}])
    # A scoped lookup: a customer outside the registering user's subtree cannot be attached.
    if fields.get("customer_id") is not None and await session.get(Customer, fields["customer_id"]) is None:
        raise Invalid("客户不存在", errors=[{"field": "customer_id", "type": "not_found", "message": "客户不存在"}])


async def _complainant_from_customer(session: AsyncSession, fields: dict[str, Any]) -> None:
    """A complaint about a known customer names them without retyping: the complainant's name, phone and ID
    number the registrant left empty come from the customer record. An agent sees those masked, so the
    console cannot send them back; the server, which holds them, fills them in. Without a customer, the
    complainant's phone defaults to the number the call came from."""
    customer = await session.get(Customer, fields["customer_id"]) if fields.get("customer_id") is not None else None
    if customer is not None:
        for name, value in (("complainant_name", customer.name),
                            ("complainant_phone", customer.mobile or customer.phone),
                            ("complainant_id_number", customer.id_number)):
            if not fields.get(name) and value:
                fields[name] = value
    # An unknown caller is reached back on the number they called from, unless another was given.
    if not fields.get("complainant_phone") and fields.get("caller_phone"):
        fields["complainant_phone"] = fields["caller_phone"]


async def _submit(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    ticket.details = await validated(session, TicketType(ticket.type), ticket.details, complete=True)
    ticket.status = TicketStatus.open
    ticket.submitted_at = now
    ticket.risk_flags = await risk_flags(session, ticket)


async def register(session: AsyncSession, principal: Principal, clock: Clock, body: TicketIn, *,
                   org_id: int | None = None, decision_due_at: datetime | None = None,
                   priority: int = Priority.normal) -> Ticket:
    """A new ticket owned by the registering user's org (or ``org_id``, already checked to be in the caller's
    subtree: a 12378 import assigns each complaint to the org it names): a draft, or submitted at once.
    ``decision_due_at`` replaces the computed deadline when someone else set it (the regulator's 到期日)."""
    now = clock.now()
    fields = body.model_dump(exclude={"type", "submit", "details", "received_at", "attachment_ids"})
    await _check_references(session, fields)
    await _complainant_from_customer(session, fields)
    details = await validated(session, body.type, body.details, complete=body.submit)
    received_at = body.received_at or now
    ticket = Ticket(**fields, type=body.type, status=TicketStatus.draft,
                    org_id=org_id if org_id is not None else principal.org_id,
                    number=await next_number(session, body.type, now), received_at=received_at,
                    decision_due_at=decision_due_at or decision_due(body.type, received_at), details=details,
                    risk_flags=[],
                    decision_days=DECISION_DAYS if decision_due(body.type, received_at) else None,
                    priority=priority, created_by=principal.user_id, created_at=now, updated_at=now)
    if body.submit:
        await _submit(session, ticket, now)  # before the INSERT, so a new ticket starts at version 1
    session.add(ticket)
    await session.flush()
    await index_ticket(session, ticket)
    if body.submit:
        await start_workflow(session, ticket, now)
    return ticket


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound("工单不存在")
    return ticket


async def update_ticket(session: AsyncSession, clock: Clock, ticket_id: int, patch: TicketPatch) -> Ticket:
    """Apply the fields sent to a draft or an open ticket, if nobody changed it since the editor read it."""
    ticket = await get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.closed:
        raise TicketClosed("已办结的工单不能修改")
    await claim(session, ticket_id, patch.version, clock.now())
    changes = patch.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("subject", "channel", "received_at"):
        if required in changes and changes[required] is None:
            raise Invalid(f"{required} 不能为空", errors=[{"field": required, "type": "missing",
                                                          "message": "不能为空"}])
    await _check_references(session, changes)
    ticket_type = TicketType(ticket.type)
    if "details" in changes:
        changes["details"] = await validated(session, ticket_type, changes["details"] or {},
                                             complete=ticket.status != TicketStatus.draft)
    for name, value in changes.items():
        setattr(ticket, name, value)
    if changes.keys() & {"subject", "demand", "details"}:
        await index_ticket(session, ticket)
    if "received_at" in changes:
        ticket.decision_due_at = decision_due(ticket_type, ticket.received_at, ticket.decision_days or DECISION_DAYS,
                                              ticket.excluded_days)
    return ticket


async def claim(session: AsyncSession, ticket_id: int, version: int, now: datetime) -> Ticket:
    """Take the ticket's next version, or raise StaleTicket (carrying what is stored now) if the caller's
    ``version`` is not the current one. Every change to a ticket — an edit, a workflow action — claims
    first: of two writers at once exactly one changes the row, and from then on this transaction holds
    the ticket (row lock on PostgreSQL, the write lock on SQLite), so a refusal after it rolls it back.
    """
    result = await session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.version == version)
                                   .values(version=version + 1, updated_at=now)
                                   .execution_options(synchronize_session=False))
    ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                  .execution_options(populate_existing=True))
    if ticket is None:
        raise TicketNotFound("工单不存在")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleTicket(ticket)
    return ticket


async def submit_ticket(session: AsyncSession, principal: Principal, clock: Clock, ticket_id: int) -> Ticket:
    """Draft → open: every required field must now be there; risk warnings are computed."""
    ticket = await get_ticket(session, ticket_id)
    if ticket.status != TicketStatus.draft:
        raise NotADraft("只有草稿可以提交")
    now = clock.now()
    await _submit(session, ticket, now)
    ticket.updated_at = now
    await session.flush()
    await start_workflow(session, ticket, now, submitted_by=principal.user_id)
    return ticket


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


async def list_tickets(session: AsyncSession, q: TicketQuery) -> list[Ticket]:
    since = _day_start(q.received_from) if q.received_from else None
    until = _day_start(q.received_to + timedelta(days=1)) if q.received_to else None
    stmt = filtered(select(Ticket), Ticket.received_at,
                    ((Ticket.type, q.type), (Ticket.status, q.status), (Ticket.number, q.number),
                     (Ticket.caller_phone, q.caller_phone), (Ticket.customer_id, q.customer_id)), since, until)
    if q.due_before is not None:
        stmt = stmt.where(Ticket.decision_due_at < q.due_before)
    stmt = stmt.order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(q.limit).offset(q.offset)
    return list(await session.scalars(stmt))
