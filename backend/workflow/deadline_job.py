"""The deadline job: marks 将超期 and 超期, reminds, and escalates overdue work to the superior org.

Deadlines live in the database (``Ticket.decision_due_at``, ``WorkItem.due_at``), so the job survives restarts:
each run looks at what is due now. Each transition (normal → due_soon → overdue) is a compare-and-set
``UPDATE … WHERE due_state = :old``: whichever worker moves a row fires its reminder or escalation, and a second
worker (or a second run) finds nothing to move — it never double-fires. On PostgreSQL candidates are read with
``FOR UPDATE SKIP LOCKED`` so several workers share the work instead of queueing on the same rows.

Escalation of an overdue decision or step: the superior org (parent of the owner, or of the step's holder) is
told, and the ticket becomes a 督办件 of that superior (supervised, priority raised) so it shows in its lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import AppContext
from backend.core.events import TicketNotice
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from backend.tickets.models import DueState, Priority, Ticket, TicketStatus
from backend.workflow.models import HandlingRecord, WorkItem, WorkItemStatus
from backend.workflow.processes import Action
from backend.workflow.writes import change, set_priority

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class DeadlineRun:
    reminded: int = 0
    escalated: int = 0
    notices: list[TicketNotice] = field(default_factory=list)


def _target(due_at: datetime, now: datetime, window: timedelta) -> DueState:
    if now > due_at:
        return DueState.overdue
    return DueState.due_soon if now >= due_at - window else DueState.normal


def _needs_move(state: Any, due_at: Any, now: datetime, window: timedelta) -> Any:
    """Rows whose state is behind their deadline (so rows waiting in 将超期 never crowd a batch)."""
    return or_(and_(state == DueState.normal, due_at <= now + window),
               and_(state == DueState.due_soon, due_at < now))


async def _moved(session: AsyncSession, model: type[Ticket] | type[WorkItem], row_id: int, old: str, new: str) -> bool:
    result = await session.execute(update(model).where(model.id == row_id, model.due_state == old)
                                   .values(due_state=new).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


async def _escalate(session: AsyncSession, ticket: Ticket, above: Org | None, now: datetime) -> None:
    if above is None:
        return
    await change(session, ticket, supervised_at=ticket.supervised_at or now)
    await set_priority(session, ticket, max(ticket.priority, Priority.supervised))


def _record(session: AsyncSession, ticket: Ticket, org_id: int, step: str, action: Action, now: datetime,
            received_at: datetime, due_at: datetime, target: Org | None) -> None:
    session.add(HandlingRecord(ticket_id=ticket.id, step=step, action=action, actor_user_id=None, org_id=org_id,
                               received_at=received_at, acted_at=now, opinion=None,
                               target_org_id=target.id if target else None,
                               details={"due_at": due_at.isoformat()}))


async def _tickets(session: AsyncSession, run: DeadlineRun, now: datetime, window: timedelta) -> int:
    stmt = (select(Ticket, Org).join(Org, Org.id == Ticket.org_id)
            .where(Ticket.status == TicketStatus.open, Ticket.decision_due_at.is_not(None),
                   _needs_move(Ticket.due_state, Ticket.decision_due_at, now, window))
            .order_by(Ticket.decision_due_at).limit(BATCH).with_for_update(of=Ticket, skip_locked=True))
    rows = (await session.execute(stmt)).all()
    for ticket, owner in rows:
        assert ticket.decision_due_at is not None
        new = _target(ticket.decision_due_at, now, window)
        if new == ticket.due_state or not await _moved(session, Ticket, ticket.id, ticket.due_state, new):
            continue
        above = await session.get(Org, owner.parent_id) if owner.parent_id else None
        if new == DueState.due_soon:
            _record(session, ticket, owner.id, "decision", Action.remind, now, ticket.received_at,
                    ticket.decision_due_at, None)
            run.reminded += 1
            message = f"工单 {ticket.number} 将于 {ticket.decision_due_at:%Y-%m-%d} 到期，请及时办结"
            run.notices.append(_notice("due_soon", ticket, None, ticket.decision_due_at, message, owner))
        else:
            _record(session, ticket, owner.id, "decision", Action.overdue, now, ticket.received_at,
                    ticket.decision_due_at, above)
            await _escalate(session, ticket, above, now)
            run.escalated += 1
            message = f"工单 {ticket.number} 已超过法定办理时限，已提请上级督办"
            run.notices.append(_notice("overdue", ticket, None, ticket.decision_due_at, message, above or owner))
    return len(rows)


async def _steps(session: AsyncSession, run: DeadlineRun, now: datetime, window: timedelta) -> int:
    stmt = (select(WorkItem, Ticket, Org).join(Ticket, Ticket.id == WorkItem.ticket_id)
            .join(Org, Org.id == WorkItem.org_id)
            .where(WorkItem.status == WorkItemStatus.open, _needs_move(WorkItem.due_state, WorkItem.due_at, now, window))
            .order_by(WorkItem.due_at).limit(BATCH).with_for_update(of=WorkItem, skip_locked=True))
    rows = (await session.execute(stmt)).all()
    for item, ticket, holder in rows:
        new = _target(item.due_at, now, window)
        if new == item.due_state or not await _moved(session, WorkItem, item.id, item.due_state, new):
            continue
        users = (item.assignee_user_id,) if item.assignee_user_id else ()
        if new == DueState.due_soon:
            _record(session, ticket, holder.id, item.step, Action.remind, now, item.received_at, item.due_at, None)
            run.reminded += 1
            run.notices.append(_notice("due_soon", ticket, item.step, item.due_at,
                                       f"工单 {ticket.number} 的「{item.step}」环节即将到期", holder, users))
        else:
            above = await session.get(Org, holder.parent_id) if holder.parent_id else None
            _record(session, ticket, holder.id, item.step, Action.overdue, now, item.received_at, item.due_at, above)
            await _escalate(session, ticket, above, now)
            run.escalated += 1
            run.notices.append(_notice("overdue", ticket, item.step, item.due_at,
                                       f"工单 {ticket.number} 的「{item.step}」环节已超期，请督办", above or holder))
    return len(rows)


def _notice(kind: str, ticket: Ticket, step: str | None, due_at: datetime, message: str, org: Org,
            users: tuple[int, ...] = ()) -> TicketNotice:
    return TicketNotice(kind=kind, ticket_id=ticket.id, ticket_number=ticket.number, step=step, due_at=due_at,
                        message=message, user_ids=users, org_path=None if users else org.path)


async def check_deadlines(ctx: AppContext) -> DeadlineRun:
    """One pass: move every due ticket and step on, in one transaction; then publish the notices."""
    now = ctx.clock.now()
    window = timedelta(hours=ctx.settings.due_soon_hours)
    run = DeadlineRun()
    for part in (_tickets, _steps):
        while True:  # one transaction per batch: locks are held briefly, and a failure loses one batch's work
            async with ctx.db.session(scope=Scope.everything()) as session:
                seen = await part(session, run, now, window)
            if seen < BATCH:
                break
    for notice in run.notices:
        try:
            await ctx.bus.publish(notice)
        except Exception:  # the state is in the database and in the lists; the notice is a courtesy
            log.warning("deadline notice for %s not published", notice.ticket_number, exc_info=True)
    if run.reminded or run.escalated:
        log.info("deadlines: %d reminder(s), %d escalation(s)", run.reminded, run.escalated)
    return run


async def deadline_job(ctx: AppContext) -> None:
    await check_deadlines(ctx)
