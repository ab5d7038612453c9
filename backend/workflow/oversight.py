"""Actions on a ticket as a whole rather than on one's own work item: 重开 (reopen), 督办 (supervise), 催办 (urge),
and 合并 (merge a repeat complaint into the open one about the same matter).

督办 is a superior org's: it marks the case, raises its priority, and notifies whoever holds it now. 催办 may come
from anyone who sees the ticket (the agent on the customer's behalf, a superior): recorded and notified.
A reopened ticket is a new decision on new facts, so its decision clock restarts on the day it is reopened.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.problems import DomainError, Forbidden
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.deadlines import DECISION_DAYS, decision_due
from backend.tickets.models import DueState, Priority, Ticket, TicketStatus
from backend.tickets.services import get_ticket
from backend.workflow.engine import add_item
from backend.workflow.errors import ActionNotAllowed, BadTarget
from backend.workflow.models import ACTIVE, WorkItem, WorkItemStatus
from backend.workflow.outcome import Acting, ActionResult, notice_for_item
from backend.workflow.processes import Action, process_for
from backend.workflow.writes import cancel_open_items, change, set_priority

ACTIONS = frozenset({Action.reopen, Action.supervise, Action.urge})


async def refusal(session: AsyncSession, principal: Principal, ticket: Ticket, action: Action) -> DomainError | None:
    """Why ``principal`` cannot take the oversight ``action`` on ``ticket`` now (None: it can)."""
    if action is Action.reopen:
        if ticket.status != TicketStatus.closed:
            return ActionNotAllowed("只有已办结的工单可以重开")
        if ticket.merged_into_id is not None:
            return ActionNotAllowed("已合并的工单不能重开，请在合并后的工单上办理")
        return None if principal.can(Permission.ticket_handle) else Forbidden("无权重开工单")
    if ticket.status != TicketStatus.open:
        return ActionNotAllowed("工单未在办理中")
    if action is Action.supervise:
        if not principal.can(Permission.ticket_supervise):
            return Forbidden("无督办权限")
        owner = await session.get(Org, ticket.org_id)
        assert owner is not None
        below = [owner.path] + [org.path for _, org in await holders(session, ticket.id)]
        if not any(path.startswith(principal.org_path) and path != principal.org_path for path in below):
            return Forbidden("只有上级机构可以督办")
        return None
    if not (principal.can(Permission.ticket_write) or principal.can(Permission.ticket_handle)):
        return Forbidden("无催办权限")
    return None


async def apply(acting: Acting) -> ActionResult:
    action = acting.body.action
    refused = await refusal(acting.session, acting.principal, acting.ticket, action)
    if refused is not None:
        raise refused
    if action is Action.reopen:
        return await _reopen(acting)
    if action is Action.supervise:
        return await _supervise(acting)
    return await _urge(acting)


async def _reopen(acting: Acting) -> ActionResult:
    session, ticket, now = acting.session, acting.ticket, acting.now
    due = decision_due(ticket.type, now)
    await change(session, ticket, status=TicketStatus.open, closed_at=None, decision_due_at=due,
                 decision_days=DECISION_DAYS if due else None, excluded_days=0, due_state=DueState.normal)
    record = acting.record(None, Action.reopen, step="closed", target_org_id=ticket.org_id,
                           details={"due_at": due.isoformat() if due else None})
    first = process_for(ticket.process or ticket.type).first
    item = add_item(session, ticket, first.name, ticket.org_id, now, days=first.days, role=first.assignee_role)
    await session.flush()
    return ActionResult(ticket, record, item)


async def holders(session: AsyncSession, ticket_id: int) -> list[tuple[WorkItem, Org]]:
    """The active work items of a ticket, wherever they sit, with their orgs."""
    stmt = across_org_tree(select(WorkItem, Org).join(Org, Org.id == WorkItem.org_id)
                           .where(WorkItem.ticket_id == ticket_id, WorkItem.status.in_(ACTIVE)))
    return [(item, org) for item, org in (await session.execute(stmt)).all()]


async def _supervise(acting: Acting) -> ActionResult:
    session, ticket = acting.session, acting.ticket
    await change(session, ticket, supervised_at=acting.now)
    await set_priority(session, ticket, max(ticket.priority, Priority.supervised))
    record = acting.record(None, Action.supervise, step="ticket", target_org_id=ticket.org_id,
                           details={"priority": ticket.priority})
    await session.flush()
    result = ActionResult(ticket, record, None)
    result.notices += [notice_for_item(ticket, item, org, "supervised",
                                       f"工单 {ticket.number} 已被上级督办：{acting.body.opinion}")
                       for item, org in await holders(session, ticket.id)]
    return result


async def _urge(acting: Acting) -> ActionResult:
    record = acting.record(None, Action.urge, step="ticket")
    await acting.session.flush()
    result = ActionResult(acting.ticket, record, None)
    result.notices += [notice_for_item(acting.ticket, item, org, "urged",
                                       f"工单 {acting.ticket.number} 被催办：{acting.body.opinion}")
                       for item, org in await holders(acting.session, acting.ticket.id)]
    return result


async def merge(acting: Acting, current: WorkItem) -> ActionResult:
    """This ticket (a repeat complaint) joins the open one named: it closes, both timelines say so."""
    session, ticket, body, now = acting.session, acting.ticket, acting.body, acting.now
    if body.merge_into_ticket_id is None:
        raise BadTarget("须指定合并到的工单", errors=[{"field": "merge_into_ticket_id", "type": "missing",
                                                      "message": "须指定合并到的工单"}])
    if body.merge_into_ticket_id == ticket.id:
        raise BadTarget("不能合并到自身")
    into = await get_ticket(session, body.merge_into_ticket_id)  # 404 outside the caller's scope
    if into.status != TicketStatus.open or into.merged_into_id is not None:
        raise ActionNotAllowed("只能合并到在办的工单")
    if into.type != ticket.type:
        raise BadTarget("只能合并同类工单")
    await change(session, ticket, status=TicketStatus.closed, closed_at=now, merged_into_id=into.id)
    current.status, current.acted_at, current.version = WorkItemStatus.done, now, current.version + 1
    record = acting.record(current, Action.merge, target_org_id=into.org_id,
                           details={"into_ticket_id": into.id, "into_number": into.number})
    acting.record(None, Action.merged, step="ticket", ticket=into,
                  details={"from_ticket_id": ticket.id, "from_number": ticket.number})
    await cancel_open_items(session, ticket.id, now)
    if into.priority < ticket.priority:  # a supervised or regulator case keeps its weight in the one left
        await set_priority(session, into, ticket.priority)
    await session.flush()
    return ActionResult(ticket, record, None)

