"""What an action works with (``Acting``) and what it produces (``ActionResult``): the handling record, the
work items it opened, and the notices to publish once the transaction has committed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.core.bus import Bus
from backend.core.events import TicketNotice
from backend.orgs.models import Org
from backend.tickets.models import Ticket
from backend.workflow.models import HandlingRecord, WorkItem, WorkItemStatus
from backend.workflow.processes import Action
from backend.workflow.schemas import ActionIn

log = logging.getLogger(__name__)


@dataclass
class Acting:
    session: AsyncSession
    principal: Principal
    now: datetime
    ticket: Ticket
    body: ActionIn

    def record(self, item: WorkItem | None, action: Action, *, step: str | None = None,
               target_org_id: int | None = None, target_user_id: int | None = None,
               details: dict[str, Any] | None = None, ticket: Ticket | None = None) -> HandlingRecord:
        """The handling record of this action: who, their org, when they got the work, when they acted."""
        record = HandlingRecord(ticket_id=(ticket or self.ticket).id, step=step or (item.step if item else "ticket"),
                                action=action, actor_user_id=self.principal.user_id, org_id=self.principal.org_id,
                                received_at=item.received_at if item else self.now, acted_at=self.now,
                                opinion=self.body.opinion, target_org_id=target_org_id,
                                target_user_id=target_user_id, details=details or {})
        self.session.add(record)
        return record


@dataclass
class ActionResult:
    ticket: Ticket
    record: HandlingRecord
    work_item: WorkItem | None
    more_items: list[WorkItem] = field(default_factory=list)
    notices: list[TicketNotice] = field(default_factory=list)

    @property
    def work_items(self) -> list[WorkItem]:
        return ([self.work_item] if self.work_item is not None else []) + self.more_items


def notice_for_item(ticket: Ticket, item: WorkItem, org: Org, kind: str, message: str) -> TicketNotice:
    """A notice for whoever holds ``item`` (the named user, else the org's subtree)."""
    users = (item.assignee_user_id,) if item.assignee_user_id is not None else ()
    return TicketNotice(kind=kind, ticket_id=ticket.id, ticket_number=ticket.number, step=item.step,
                        due_at=item.due_at, message=message, user_ids=users,
                        org_path=None if users else org.path)


async def submitted_notices(session: AsyncSession, ticket: Ticket) -> list[TicketNotice]:
    """A just-submitted ticket's first work item, announced to whoever holds it, as transfers are."""
    items = (await session.scalars(select(WorkItem).where(WorkItem.ticket_id == ticket.id,
                                                          WorkItem.status == WorkItemStatus.open))).all()
    notices = []
    for item in items:
        org = await session.get(Org, item.org_id)
        if org is not None:
            notices.append(notice_for_item(ticket, item, org, "assigned", f"新工单 {ticket.number} 待贵单位处理"))
    return notices


async def publish_notices(session: AsyncSession, bus: Bus, notices: list[TicketNotice]) -> None:
    """Commit, then tell: nobody is told of work that was rolled back. A notice the bus refuses is logged, not
    raised — the work is in the holders' to-do lists either way; the notice is a courtesy."""
    await session.commit()
    for notice in notices:
        try:
            await bus.publish(notice)
        except Exception:
            log.warning("ticket notice for %s not published", notice.ticket_number, exc_info=True)
