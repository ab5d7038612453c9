"""Putting a ticket's work somewhere: the first work item on submission, and each later assignment.

Ownership rule (转办 moves ownership): work may go to the owner org, to any org above it, or down/sideways to an
org that cannot see the ticket yet. In the last case ``Ticket.org_id`` becomes the receiving org, because the
ticket is now that org's to handle; going up never moves ownership, since every org above already sees its
subtree. So every org holding an open work item sees the ticket, and an outlet sees another outlet's ticket
only once the ticket has been handed to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Role
from backend.core.db import insert_ignoring_duplicates
from backend.orgs.models import Org
from backend.tickets.models import Ticket, TicketAccess
from backend.workflow.models import AssigneeKind, HandlingRecord, WorkItem, WorkItemKind, WorkItemStatus
from backend.workflow.processes import Action, Step, choose, process_for


def assign(session: AsyncSession, ticket: Ticket, step: Step, org_id: int, now: datetime, *,
           user_id: int | None = None) -> WorkItem:
    """A new open work item at ``step`` for ``user_id``, or else for the step's assignee at ``org_id``."""
    return add_item(session, ticket, step.name, org_id, now, days=step.days, user_id=user_id,
                    role=step.assignee_role)


def add_item(session: AsyncSession, ticket: Ticket, step: str, org_id: int, now: datetime, *, days: int,
             user_id: int | None = None, role: Role | None = None, kind: WorkItemKind = WorkItemKind.step,
             parent: WorkItem | None = None, details: dict[str, Any] | None = None) -> WorkItem:
    """A new open work item of any kind: for a user, else a role at the org, else the org's handlers. It carries
    the ticket's priority, so a to-do list is one index walk (backend.workflow.writes.set_priority keeps it)."""
    if user_id is not None:
        assignee, role_name = AssigneeKind.user, None
    elif role is not None:
        assignee, role_name = AssigneeKind.role_at_org, role.value
    else:
        assignee, role_name = AssigneeKind.org, None
    item = WorkItem(ticket_id=ticket.id, priority=ticket.priority, step=step, kind=kind, assignee_kind=assignee, assignee_user_id=user_id,
                    assignee_role=role_name, org_id=org_id, status=WorkItemStatus.open, received_at=now,
                    due_at=now + timedelta(days=days), due_state="normal",
                    parent_item_id=parent.id if parent is not None else None, details=details or {})
    session.add(item)
    return item


async def share(session: AsyncSession, ticket: Ticket, org: Org, now: datetime) -> None:
    """Let ``org`` see the ticket while it works on it beside the owner (会签, 审批), unless it already does."""
    owner = await session.get(Org, ticket.org_id)
    assert owner is not None
    if owner.path.startswith(org.path):
        return  # the owner's own line sees it already
    await session.execute(insert_ignoring_duplicates(session, TicketAccess, "ticket_id", "org_id")
                          .values(ticket_id=ticket.id, org_id=org.id, granted_at=now))


async def start(session: AsyncSession, ticket: Ticket, now: datetime, submitted_by: int | None = None) -> WorkItem:
    """A ticket was submitted (by ``submitted_by``; default its creator): record it and hand its first
    step to the owner org."""
    owner = await session.get(Org, ticket.org_id)
    assert owner is not None
    line = select(Org.code).where(literal(owner.path).startswith(Org.path)).order_by(func.length(Org.path))
    ticket.process = choose(ticket.type, list((await session.scalars(line)).all()))
    step = process_for(ticket.process).first
    session.add(HandlingRecord(ticket_id=ticket.id, step="register", action=Action.submit,
                               actor_user_id=submitted_by or ticket.created_by, org_id=ticket.org_id,
                               received_at=ticket.received_at,
                               acted_at=now, target_org_id=ticket.org_id, details={}))
    item = assign(session, ticket, step, ticket.org_id, now)
    await session.flush()
    return item
