"""The handler's lists: 我的待办, 我的已办, 我的已结案, 督办件, 将超期件, and a ticket's timeline.

All run in the caller's scoped session, so they show only tickets of the caller's org subtree (or shared
with it); 待办 narrows to what the caller may act on, 已办 and 已结案 to what the caller did.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.models import DueState, Ticket, TicketStatus
from backend.tickets.services import get_ticket
from backend.workflow.models import AssigneeKind, HandlingRecord, WorkItem, WorkItemStatus
from backend.workflow.processes import Action

SYSTEM_ACTIONS = (Action.submit, Action.merged, Action.remind, Action.overdue)


async def todo(session: AsyncSession, principal: Principal, limit: int = 200) -> list[tuple[WorkItem, Ticket]]:
    """我的待办: open work items for me, a role of mine at my org, or my org (handlers); urgent first.

    Every such item sits at the caller's org (an item for a named person is placed at that person's org), so
    the query is one walk of ``ix_work_items_todo`` in order, however many items the org holds."""
    mine = [and_(WorkItem.assignee_kind == AssigneeKind.user, WorkItem.assignee_user_id == principal.user_id)]
    if principal.can(Permission.ticket_handle):
        mine += [WorkItem.assignee_kind == AssigneeKind.org,
                 and_(WorkItem.assignee_kind == AssigneeKind.role_at_org,
                      WorkItem.assignee_role.in_([r.value for r in principal.roles]))]
    stmt = (select(WorkItem, Ticket).join(Ticket, Ticket.id == WorkItem.ticket_id)
            .where(WorkItem.org_id == principal.org_id, WorkItem.status == WorkItemStatus.open, or_(*mine))
            .order_by(WorkItem.priority.desc(), WorkItem.due_at, WorkItem.id).limit(limit))
    return [(item, ticket) for item, ticket in (await session.execute(stmt)).all()]


async def done(session: AsyncSession, principal: Principal, limit: int = 200) -> list[tuple[HandlingRecord, str]]:
    """我的已办: the tickets I acted on, each with my latest action, most recent first."""
    stmt = (select(HandlingRecord, Ticket.number).join(Ticket, Ticket.id == HandlingRecord.ticket_id)
            .where(HandlingRecord.actor_user_id == principal.user_id, HandlingRecord.action.not_in(SYSTEM_ACTIONS))
            .order_by(HandlingRecord.acted_at.desc(), HandlingRecord.id.desc()).limit(limit * 5))
    latest: dict[int, tuple[HandlingRecord, str]] = {}
    for record, number in (await session.execute(stmt)).all():
        latest.setdefault(record.ticket_id, (record, number))
    return list(latest.values())[:limit]


async def closed_by_me(session: AsyncSession, principal: Principal, limit: int = 200) -> list[Ticket]:
    """我的已结案: closed tickets whose closing (结案, 撤回, 合并) I recorded, most recently closed first."""
    mine = select(HandlingRecord.ticket_id).where(
        HandlingRecord.actor_user_id == principal.user_id,
        HandlingRecord.action.in_((Action.close, Action.withdraw, Action.merge)))
    stmt = (select(Ticket).where(Ticket.status == TicketStatus.closed, Ticket.id.in_(mine))
            .order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(limit))
    return list((await session.scalars(stmt)).all())


async def supervised(session: AsyncSession, limit: int = 200) -> list[Ticket]:
    """督办件: open supervised tickets of the caller's subtree, most recently supervised first."""
    stmt = (select(Ticket).where(Ticket.status == TicketStatus.open, Ticket.supervised_at.is_not(None))
            .order_by(Ticket.supervised_at.desc(), Ticket.id.desc()).limit(limit))
    return list((await session.scalars(stmt)).all())


async def due_soon(session: AsyncSession, limit: int = 200) -> list[Ticket]:
    """将超期件 (and 超期件): open tickets of the subtree whose decision deadline is near or past, earliest
    deadline first. The deadline job keeps ``due_state`` current."""
    stmt = (select(Ticket).where(Ticket.status == TicketStatus.open,
                                 Ticket.due_state.in_((DueState.due_soon, DueState.overdue)))
            .order_by(Ticket.decision_due_at, Ticket.id).limit(limit))
    return list((await session.scalars(stmt)).all())


async def timeline(session: AsyncSession, ticket_id: int) -> list[tuple[HandlingRecord, str | None, str | None,
                                                                      str | None]]:
    """Every handling record of a ticket the caller can see, in order, with the actor's name and the names of
    the acting and target orgs (a record may name an org above the reader, e.g. the branch it was sent to)."""
    await get_ticket(session, ticket_id)
    actor_org, target_org = aliased(Org), aliased(Org)
    stmt = across_org_tree(select(HandlingRecord, User.display_name, actor_org.name, target_org.name)
                           .outerjoin(User, User.id == HandlingRecord.actor_user_id)
                           .outerjoin(actor_org, actor_org.id == HandlingRecord.org_id)
                           .outerjoin(target_org, target_org.id == HandlingRecord.target_org_id)
                           .where(HandlingRecord.ticket_id == ticket_id)
                           .order_by(HandlingRecord.acted_at, HandlingRecord.id))
    return [(record, name, org, target) for record, name, org, target in (await session.execute(stmt)).all()]


async def work_items(session: AsyncSession, ticket_id: int) -> list[WorkItem]:
    """Every work item of a ticket the caller can see (the ticket's current and past assignments)."""
    await get_ticket(session, ticket_id)
    stmt = across_org_tree(select(WorkItem).where(WorkItem.ticket_id == ticket_id).order_by(WorkItem.id))
    return list((await session.scalars(stmt)).all())

