"""Workflow actions on tickets and the lists built from them (to-do, done, timeline).

An action is checked completely before anything is written; then the ticket's version is claimed with one
``UPDATE … WHERE version = :v``: of two actors at once exactly one changes a row, the other gets a conflict
carrying the current ticket. The handling record, the closed work item and the next one are written in the
same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.models import User
from backend.auth.permissions import Permission, Role, permissions_of
from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.problems import Conflict, Forbidden, Invalid
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.models import Ticket, TicketStatus
from backend.tickets.services import claim, get_ticket
from backend.workflow.engine import assign
from backend.workflow.models import AssigneeKind, HandlingRecord, WorkItem, WorkItemStatus
from backend.workflow.processes import Action, Step, process_for
from backend.workflow.schemas import ActionIn

NEEDS_OPINION = frozenset({Action.return_, Action.reopen, Action.withdraw})


class NotAssignee(Forbidden):
    title, code = "该工单当前不在您的待办中", "not-assignee"


class ActionNotAllowed(Conflict):
    title, code = "当前环节不能执行此操作", "action-not-allowed"


class PrerequisiteMissing(Conflict):
    title, code = "尚未完成前置操作", "prerequisite-missing"


class BadTarget(Invalid):
    title, code = "转办目标无效", "bad-target"


@dataclass
class ActionResult:
    ticket: Ticket
    record: HandlingRecord
    work_item: WorkItem | None


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[{"field": field, "type": "missing", "message": message}])


async def _open_item(session: AsyncSession, ticket_id: int) -> WorkItem | None:
    """The ticket's open work item, if it sits in the caller's scope."""
    stmt = select(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.status == WorkItemStatus.open)
    return (await session.scalars(stmt.order_by(WorkItem.id.desc()).limit(1))).first()


def is_assignee(item: WorkItem, principal: Principal) -> bool:
    if not principal.can(Permission.ticket_handle):
        return False
    if item.assignee_kind == AssigneeKind.user:
        return item.assignee_user_id == principal.user_id
    if item.org_id != principal.org_id:
        return False
    return item.assignee_kind == AssigneeKind.org or item.assignee_role in principal.roles


async def _has_action(session: AsyncSession, ticket_id: int, action: Action) -> bool:
    # Records of a visible ticket are visible, wherever their actor sits.
    stmt = across_org_tree(select(HandlingRecord.id).where(HandlingRecord.ticket_id == ticket_id,
                                                           HandlingRecord.action == action).limit(1))
    return (await session.scalar(stmt)) is not None


def _reachable(principal: Principal, org: Org) -> bool:
    """Work may go anywhere in the actor's subtree, or up the actor's own line."""
    return principal.scope.contains_path(org.path) or principal.org_path.startswith(org.path)


async def _transfer_target(session: AsyncSession, principal: Principal, body: ActionIn) -> tuple[Org, int | None]:
    if (body.target_org_id is None) == (body.target_user_id is None):
        raise BadTarget("转办需指定目标机构或目标人员之一",
                        errors=[{"field": "target_org_id", "type": "missing", "message": "需指定一个转办目标"}])
    user_id = body.target_user_id
    org_id = body.target_org_id
    if user_id is not None:
        user = (await session.scalars(across_org_tree(select(User).where(User.id == user_id)))).first()
        if user is None or not user.active or not permissions_of(
                frozenset(Role(r) for r in user.roles)) & {Permission.ticket_handle}:
            raise BadTarget("目标人员不存在或不能处理工单")
        org_id = user.org_id
    org = await session.get(Org, org_id)
    if org is None or not org.active or not _reachable(principal, org):
        raise BadTarget("目标机构不在您的管辖范围内")
    return org, user_id


async def _previous_item(session: AsyncSession, ticket_id: int, before: int) -> WorkItem | None:
    stmt = across_org_tree(select(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.id < before)
                           .order_by(WorkItem.id.desc()).limit(1))
    return (await session.scalars(stmt)).first()


async def _change(session: AsyncSession, ticket: Ticket, **changes: Any) -> None:
    if changes:
        await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**changes)
                              .execution_options(synchronize_session=False))
        for name, value in changes.items():
            set_committed_value(ticket, name, value)


async def _owner_after(session: AsyncSession, ticket: Ticket, target: Org) -> int:
    """Ownership moves to ``target`` unless it already sees the ticket (it is the owner or above it)."""
    owner = await session.get(Org, ticket.org_id)
    assert owner is not None
    return ticket.org_id if owner.path.startswith(target.path) else target.id


async def act(session: AsyncSession, principal: Principal, clock: Clock, ticket_id: int, body: ActionIn) -> ActionResult:
    """Apply one workflow action to a ticket as ``principal``."""
    await get_ticket(session, ticket_id)  # 404 before anything else when it is outside the caller's scope
    action = body.action
    if action is Action.submit:
        raise Invalid("提交通过工单登记完成", errors=[{"field": "action", "type": "enum", "message": "不支持的操作"}])
    if action in NEEDS_OPINION and not (body.opinion or "").strip():
        raise _invalid("opinion", "退回、重开、撤回须填写原因")
    if action is Action.reply and body.reply is None:
        raise _invalid("reply", "答复须填写答复方式和告知时间")
    now = clock.now()
    ticket = await claim(session, ticket_id, body.version, now)
    process = process_for(ticket.type)

    if action is Action.reopen:
        if ticket.status != TicketStatus.closed:
            raise ActionNotAllowed("只有已办结的工单可以重开")
        if not principal.can(Permission.ticket_handle):
            raise Forbidden("无权重开工单")
        await _change(session, ticket, status=TicketStatus.open)
        record = HandlingRecord(ticket_id=ticket.id, step="closed", action=action, actor_user_id=principal.user_id,
                                org_id=principal.org_id, received_at=now, acted_at=now, opinion=body.opinion,
                                target_org_id=ticket.org_id, details={})
        session.add(record)
        item = assign(session, ticket.id, process.first, ticket.org_id, now)
        await session.flush()
        return ActionResult(ticket, record, item)

    if ticket.status != TicketStatus.open:
        raise ActionNotAllowed("工单未在办理中")
    current = await _open_item(session, ticket.id)
    if current is None or not is_assignee(current, principal):
        raise NotAssignee("只有当前经办人可以办理该工单")
    step = process.steps[current.step]
    rule = step.actions.get(action)
    if rule is None:
        raise ActionNotAllowed(f"「{step.label}」环节不能执行「{action.value}」")
    if rule.requires is not None and not await _has_action(session, ticket.id, rule.requires):
        raise PrerequisiteMissing(f"须先完成「{rule.requires.value}」", requires=rule.requires.value)

    next_step: Step = process.steps[rule.next] if rule.next else step
    target: Org | None = None
    target_user: int | None = None
    details: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    if action is Action.transfer:
        target, target_user = await _transfer_target(session, principal, body)
    elif action is Action.escalate:
        here = await session.get(Org, current.org_id)
        target = await session.get(Org, here.parent_id) if here and here.parent_id else None
        if target is None:
            raise ActionNotAllowed("总公司没有上级机构")
    elif action is Action.return_:
        previous = await _previous_item(session, ticket.id, current.id)
        if previous is None:
            raise ActionNotAllowed("没有可退回的上一环节")
        target = await session.get(Org, previous.org_id)
        target_user = previous.assignee_user_id
        next_step = process.steps.get(previous.step, step)
    elif action is Action.reply:
        assert body.reply is not None
        details = body.reply.model_dump(mode="json")
        target = await session.get(Org, current.org_id)
        target_user = current.assignee_user_id
    elif action is Action.withdraw:
        details = {"withdrawn_at": (body.withdrawn_at or now).isoformat()}
    if action in (Action.close, Action.withdraw):
        changes["status"] = TicketStatus.closed
    if target is not None:
        changes["org_id"] = await _owner_after(session, ticket, target)

    await _change(session, ticket, **changes)
    current.status, current.acted_at, current.version = WorkItemStatus.done, now, current.version + 1
    record = HandlingRecord(ticket_id=ticket.id, step=current.step, action=action, actor_user_id=principal.user_id,
                            org_id=principal.org_id, received_at=current.received_at, acted_at=now,
                            opinion=body.opinion, target_org_id=target.id if target else None,
                            target_user_id=target_user, details=details)
    session.add(record)
    item = assign(session, ticket.id, next_step, target.id, now, user_id=target_user) if target else None
    await session.flush()
    return ActionResult(ticket, record, item)


async def todo(session: AsyncSession, principal: Principal, limit: int = 200) -> list[tuple[WorkItem, Ticket]]:
    """我的待办: open work items for me, a role of mine at my org, or my org (handlers); oldest due first."""
    mine = [and_(WorkItem.assignee_kind == AssigneeKind.user, WorkItem.assignee_user_id == principal.user_id)]
    if principal.can(Permission.ticket_handle):
        at_my_org = WorkItem.org_id == principal.org_id
        mine += [and_(at_my_org, WorkItem.assignee_kind == AssigneeKind.org),
                 and_(at_my_org, WorkItem.assignee_kind == AssigneeKind.role_at_org,
                      WorkItem.assignee_role.in_([r.value for r in principal.roles]))]
    stmt = (select(WorkItem, Ticket).join(Ticket, Ticket.id == WorkItem.ticket_id)
            .where(WorkItem.status == WorkItemStatus.open, or_(*mine))
            .order_by(WorkItem.due_at, WorkItem.id).limit(limit))
    return [(item, ticket) for item, ticket in (await session.execute(stmt)).all()]


async def done(session: AsyncSession, principal: Principal, limit: int = 200) -> list[tuple[HandlingRecord, str]]:
    """我的已办: the tickets I acted on, each with my latest action, most recent first."""
    stmt = (select(HandlingRecord, Ticket.number).join(Ticket, Ticket.id == HandlingRecord.ticket_id)
            .where(HandlingRecord.actor_user_id == principal.user_id, HandlingRecord.action != Action.submit)
            .order_by(HandlingRecord.acted_at.desc(), HandlingRecord.id.desc()).limit(limit * 5))
    latest: dict[int, tuple[HandlingRecord, str]] = {}
    for record, number in (await session.execute(stmt)).all():
        latest.setdefault(record.ticket_id, (record, number))
    return list(latest.values())[:limit]


async def timeline(session: AsyncSession, ticket_id: int) -> list[tuple[HandlingRecord, str | None]]:
    """Every handling record of a ticket the caller can see, in order, with the actor's name."""
    await get_ticket(session, ticket_id)
    stmt = across_org_tree(select(HandlingRecord, User.display_name)
                           .outerjoin(User, User.id == HandlingRecord.actor_user_id)
                           .where(HandlingRecord.ticket_id == ticket_id)
                           .order_by(HandlingRecord.acted_at, HandlingRecord.id))
    return [(record, name) for record, name in (await session.execute(stmt)).all()]
