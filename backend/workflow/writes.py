"""Small writes every kind of action shares: ticket columns, ending open items, where work may be sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.principal import Principal
from backend.orgs.models import Org
from backend.tickets.models import Ticket
from backend.workflow.models import ACTIVE, WorkItem, WorkItemStatus


async def change(session: AsyncSession, ticket: Ticket, **changes: Any) -> None:
    """Write ticket columns (the version was claimed already) and keep the loaded object in step."""
    if changes:
        await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**changes)
                              .execution_options(synchronize_session=False))
        for name, value in changes.items():
            set_committed_value(ticket, name, value)


async def cancel_open_items(session: AsyncSession, ticket_id: int, now: Any) -> None:
    """Every open or waiting item of the ticket ends (it was closed, withdrawn or merged)."""
    await session.flush()
    await session.execute(update(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.status.in_(ACTIVE))
                          .values(status=WorkItemStatus.cancelled, acted_at=now, version=WorkItem.version + 1)
                          .execution_options(synchronize_session=False))


def reachable(principal: Principal, org: Org) -> bool:
    """Work may go anywhere in the actor's subtree, or up the actor's own line."""
    return principal.scope.contains_path(org.path) or principal.org_path.startswith(org.path)


async def set_priority(session: AsyncSession, ticket: Ticket, priority: int) -> None:
    """Raise (or set) a ticket's priority, and its active work items' copy of it."""
    await change(session, ticket, priority=priority)
    await session.execute(update(WorkItem).where(WorkItem.ticket_id == ticket.id, WorkItem.status.in_(ACTIVE))
                          .values(priority=priority).execution_options(synchronize_session=False))
