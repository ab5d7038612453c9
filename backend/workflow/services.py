"""Workflow actions on tickets: checked completely, then the ticket's version is claimed, then written.

``act`` is the one entry point. The ticket's version is claimed with one ``UPDATE … WHERE version = :v``: of two
actors at once exactly one changes a row, the other gets a conflict carrying the current ticket. The handling
record, the work items closed and opened, and the ticket's new state are written in the same transaction.

Three families of actions:
- main-line step actions (转办, 上报, 退回, 会签, 拟办, 审批, 延期, 外部鉴定, 合并, 答复, 结案, 撤回): allowed by the
  process definition at the step of the caller's open work item (backend.workflow.processes);
- actions on a parallel work item: 会签意见 on a countersign item, 同意/不同意 on an extension approval
  (backend.workflow.parallel);
- actions not tied to an assignment: 重开, 督办, 催办 (backend.workflow.oversight).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.permissions import Permission, Role, permissions_of
from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.problems import Invalid
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.models import Ticket, TicketStatus
from backend.tickets.services import claim, get_ticket
from backend.workflow import oversight, parallel
from backend.workflow.engine import assign
from backend.workflow.errors import ActionNotAllowed, BadTarget, NotAssignee, PrerequisiteMissing, invalid
from backend.workflow.models import HandlingRecord, WorkItem, WorkItemKind, WorkItemStatus
from backend.workflow.outcome import Acting, ActionResult, notice_for_item
from backend.workflow.processes import Action, ActionRule, Step, process_for
from backend.workflow.schemas import ActionIn
from backend.workflow.writes import cancel_open_items, change, reachable

NEEDS_OPINION = frozenset({Action.return_, Action.reopen, Action.withdraw, Action.countersign, Action.sign,
                           Action.propose, Action.reject, Action.extend, Action.supervise, Action.urge,
                           Action.merge})
NOT_REQUESTABLE = frozenset({Action.submit, Action.merged, Action.remind, Action.overdue})


def is_assignee(item: WorkItem, principal: Principal) -> bool:
    if not principal.can(Permission.ticket_handle):
        return False
    if item.assignee_kind == "user":
        return item.assignee_user_id == principal.user_id
    if item.org_id != principal.org_id:
        return False
    return item.assignee_kind == "org" or item.assignee_role in principal.roles


def _head_office_approver(item: WorkItem, principal: Principal) -> bool:
    """An extension beyond 30 days is approved by the parent org or by a senior manager of the head office."""
    return (item.kind == WorkItemKind.approval and principal.can(Permission.ticket_approve)
            and principal.at_head_office)


async def held_items(session: AsyncSession, ticket_id: int, principal: Principal) -> list[WorkItem]:
    """The open work items of this ticket the caller may act on, oldest first."""
    stmt = select(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.status == WorkItemStatus.open)
    return [item for item in (await session.scalars(stmt.order_by(WorkItem.id))).all()
            if is_assignee(item, principal) or _head_office_approver(item, principal)]


async def _my_item(session: AsyncSession, ticket_id: int, principal: Principal, item_id: int | None) -> WorkItem:
    """The open work item of this ticket the caller holds (the one named, if several)."""
    for item in await held_items(session, ticket_id, principal):
        if item_id is None or item.id == item_id:
            return item
    raise NotAssignee("只有当前经办人可以办理该工单")


async def _has_action(session: AsyncSession, ticket_id: int, action: Action) -> bool:
    # Records of a visible ticket are visible, wherever their actor sits.
    stmt = across_org_tree(select(HandlingRecord.id).where(HandlingRecord.ticket_id == ticket_id,
                                                           HandlingRecord.action == action).limit(1))
    return (await session.scalar(stmt)) is not None


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
    if org is None or not org.active or not reachable(principal, org):
        raise BadTarget("目标机构不在您的管辖范围内")
    return org, user_id


async def previous_step_item(session: AsyncSession, ticket_id: int, before: int) -> WorkItem | None:
    """The main-line item before ``before``: where a return (退回) sends the ticket back to."""
    stmt = across_org_tree(select(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.id < before,
                                                  WorkItem.kind == WorkItemKind.step)
                           .order_by(WorkItem.id.desc()).limit(1))
    return (await session.scalars(stmt)).first()


async def escalation_target(session: AsyncSession, current: WorkItem) -> Org | None:
    """Where 上报 sends the ticket: the parent of the org holding it (none above the head office)."""
    here = await session.get(Org, current.org_id)
    return await session.get(Org, here.parent_id) if here and here.parent_id else None


async def _owner_after(session: AsyncSession, ticket: Ticket, target: Org) -> int:
    """Ownership moves to ``target`` unless it already sees the ticket (it is the owner or above it)."""
    owner = await session.get(Org, ticket.org_id)
    assert owner is not None
    return ticket.org_id if owner.path.startswith(target.path) else target.id


async def act(session: AsyncSession, principal: Principal, clock: Clock, ticket_id: int, body: ActionIn) -> ActionResult:
    """Apply one workflow action to a ticket as ``principal``."""
    await get_ticket(session, ticket_id)  # 404 before anything else when it is outside the caller's scope
    action = body.action
    if action in NOT_REQUESTABLE:
        raise Invalid("该操作由系统记录", errors=[{"field": "action", "type": "enum", "message": "不支持的操作"}])
    if action in NEEDS_OPINION and not (body.opinion or "").strip():
        raise invalid("opinion", "该操作须填写意见或原因")
    if action is Action.reply and body.reply is None:
        raise invalid("reply", "答复须填写答复方式和告知时间")
    now = clock.now()
    ticket = await claim(session, ticket_id, body.version, now)
    acting = Acting(session, principal, now, ticket, body)

    if action in oversight.ACTIONS:
        return await oversight.apply(acting)
    if ticket.status != TicketStatus.open:
        raise ActionNotAllowed("工单未在办理中")
    item = await _my_item(session, ticket.id, principal, body.work_item_id)
    if item.kind != WorkItemKind.step:
        return await parallel.apply_on_item(acting, item)
    return await _step_action(acting, item)


async def step_rule(session: AsyncSession, principal: Principal, ticket: Ticket, current: WorkItem,
                    action: Action) -> ActionRule:
    """The rule of the process that lets ``principal`` take ``action`` at ``current``'s step, or the refusal:
    not an action of the step, its prerequisite not on the record yet, or an approval without the right."""
    step = process_for(ticket.process or ticket.type).steps[current.step]
    rule = step.actions.get(action)
    if rule is None:
        raise ActionNotAllowed(f"「{step.label}」环节不能执行「{action.value}」")
    if rule.requires is not None and not await _has_action(session, ticket.id, rule.requires):
        raise PrerequisiteMissing(f"须先完成「{rule.requires.value}」", requires=rule.requires.value)
    if action is Action.approve and not principal.can(Permission.ticket_approve):
        raise NotAssignee("无审批权限")
    return rule


async def _step_action(acting: Acting, current: WorkItem) -> ActionResult:
    session, principal, now, ticket, body = acting.session, acting.principal, acting.now, acting.ticket, acting.body
    action = body.action
    process = process_for(ticket.process or ticket.type)
    step = process.steps[current.step]
    rule = await step_rule(session, principal, ticket, current, action)
    if action is Action.countersign:
        return await parallel.start_countersign(acting, current, rule)
    if action in (Action.extend, Action.appraisal):
        return await parallel.change_deadline(acting, current, step)
    if action is Action.merge:
        return await oversight.merge(acting, current)

    next_step: Step = process.steps[rule.next] if rule.next else step
    target: Org | None = None
    target_user: int | None = None
    details: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    if action is Action.transfer:
        target, target_user = await _transfer_target(session, principal, body)
    elif action is Action.escalate:
        target = await escalation_target(session, current)
        if target is None:
            raise ActionNotAllowed("总公司没有上级机构")
    elif action is Action.return_:
        previous = await previous_step_item(session, ticket.id, current.id)
        if previous is None:
            raise ActionNotAllowed("没有可退回的上一环节")
        target = await session.get(Org, previous.org_id)
        target_user = previous.assignee_user_id
        next_step = process.steps.get(previous.step, step)
    elif action is Action.reply:
        assert body.reply is not None
        details = body.reply.model_dump(mode="json")
    elif action is Action.withdraw:
        withdrawn_at = body.withdrawn_at or now
        details = {"withdrawn_at": withdrawn_at.isoformat()}
        # Handling ends on the day the withdrawal is received: that day, not today, stops the clock.
        changes.update(status=TicketStatus.closed, closed_at=withdrawn_at)
    if action is Action.close:
        changes.update(status=TicketStatus.closed, closed_at=now)
    if target is None and rule.next:
        # Moving on to the next step at the same org (拟办 → 审批 → 答复 → 结案).
        target = await session.get(Org, current.org_id)
        target_user = current.assignee_user_id if next_step.assignee_role is None else None
    if target is not None and action in (Action.transfer, Action.escalate, Action.return_):
        changes["org_id"] = await _owner_after(session, ticket, target)

    await change(session, ticket, **changes)
    current.status, current.acted_at, current.version = WorkItemStatus.done, now, current.version + 1
    record = acting.record(current, action, target_org_id=target.id if target else None,
                           target_user_id=target_user, details=details)
    if changes.get("status") == TicketStatus.closed:
        await cancel_open_items(session, ticket.id, now)
    item = assign(session, ticket, next_step, target.id, now, user_id=target_user) if target else None
    await session.flush()
    result = ActionResult(ticket, record, item)
    if item is not None and target is not None and (target.id != principal.org_id or target_user):
        result.notices.append(notice_for_item(ticket, item, target, "assigned", f"工单 {ticket.number} 已转至贵单位办理"))
    return result
