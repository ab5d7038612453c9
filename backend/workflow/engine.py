"""Putting a ticket's work somewhere: the first work item on submission, and each later assignment.

Ownership rule (转办 moves ownership): work may go to the owner org, to any org above it, or down/sideways to an
org that cannot see the ticket yet. In the last case ``Ticket.org_id`` becomes the receiving org, because the
ticket is now that org's to handle; going up never moves ownership, since every org above already sees its
subtree. So every org holding an open work item sees the ticket, and an outlet sees another outlet's ticket
only once the ticket has been handed to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.tickets.models import Ticket
from backend.workflow.models import AssigneeKind, HandlingRecord, WorkItem, WorkItemStatus
from backend.workflow.processes import Action, Step, process_for


def assign(session: AsyncSession, ticket_id: int, step: Step, org_id: int, now: datetime, *,
           user_id: int | None = None) -> WorkItem:
    """A new open work item at ``step`` for ``user_id``, or else for the step's assignee at ``org_id``."""
    if user_id is not None:
        kind, role = AssigneeKind.user, None
    elif step.assignee_role is not None:
        kind, role = AssigneeKind.role_at_org, step.assignee_role.value
    else:
        kind, role = AssigneeKind.org, None
    item = WorkItem(ticket_id=ticket_id, step=step.name, assignee_kind=kind, assignee_user_id=user_id,
                    assignee_role=role, org_id=org_id, status=WorkItemStatus.open, received_at=now,
                    due_at=now + timedelta(days=step.days))
    session.add(item)
    return item


async def start(session: AsyncSession, ticket: Ticket, now: datetime, submitted_by: int | None = None) -> WorkItem:
    """A ticket was submitted (by ``submitted_by``; default its creator): record it and hand its first
    step to the owner org."""
    step = process_for(ticket.type).first
    session.add(HandlingRecord(ticket_id=ticket.id, step="register", action=Action.submit,
                               actor_user_id=submitted_by or ticket.created_by, org_id=ticket.org_id,
                               received_at=ticket.received_at,
                               acted_at=now, target_org_id=ticket.org_id, details={}))
    item = assign(session, ticket.id, step, ticket.org_id, now)
    await session.flush()
    return item
