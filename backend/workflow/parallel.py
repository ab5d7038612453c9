"""Work beside the main line: 会签 (countersign by several units) and the deadline rules (延期, 外部鉴定, and the
approval an extension beyond 30 days needs).

Countersign: the holder's item waits; each unit asked gets a countersign item (and sight of the ticket, if it
is outside the owner's line). When every unit has signed (mode ``all``) or the first one has (mode ``any``, the
others are cancelled), the holder gets a new item at the same step, with the opinions on the record.

Deadlines (CBIRC order 2020 No. 3): 15 days; the handler may extend to 30 with a reason; a further 30 (60 in
all) only with approval by the parent org (or the head office's own senior manager when the owner is the head
office) — the request is an approval item beside the main line, which goes on meanwhile. Appraisal periods are
left out of the count, one recorded period at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, Role
from backend.auth.principal import Principal
from backend.core.problems import DomainError, Invalid
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.deadlines import APPROVED_DAYS, DECISION_DAYS, EXTENDED_DAYS, decision_due
from backend.tickets.models import DueState, Ticket
from backend.workflow.engine import add_item, share
from backend.workflow.errors import ActionNotAllowed, BadTarget, DeadlineRuleBroken, NotAssignee, invalid
from backend.workflow.models import WorkItem, WorkItemKind, WorkItemStatus
from backend.workflow.outcome import Acting, ActionResult, notice_for_item
from backend.workflow.processes import Action, ActionRule, Step, process_for
from backend.workflow.writes import change, reachable

COUNTERSIGN_STEP = "countersign"
EXTENSION_STEP = "extension_approval"
APPROVAL_DAYS = 3
MAX_APPRAISAL_DAYS = 365


async def start_countersign(acting: Acting, current: WorkItem, rule: ActionRule) -> ActionResult:
    session, ticket, body = acting.session, acting.ticket, acting.body
    ids = list(dict.fromkeys(body.target_org_ids or []))
    if len(ids) < 1:
        raise BadTarget("会签须指定至少一个单位", errors=[{"field": "target_org_ids", "type": "missing",
                                                          "message": "须指定会签单位"}])
    orgs: list[Org] = []
    for org_id in ids:
        org = await session.get(Org, org_id)
        if org is None or not org.active or not reachable(acting.principal, org) or org.id == current.org_id:
            raise BadTarget(f"会签单位 {org_id} 无效或不在您的管辖范围内")
        orgs.append(org)
    current.status, current.version = WorkItemStatus.waiting, current.version + 1
    await session.flush()
    record = acting.record(current, Action.countersign, details={"org_ids": ids, "mode": rule.mode})
    items: list[WorkItem] = []
    for org in orgs:
        await share(session, ticket, org, acting.now)
        items.append(add_item(session, ticket, COUNTERSIGN_STEP, org.id, acting.now, days=rule.days or 3,
                              kind=WorkItemKind.countersign, parent=current, details={"mode": rule.mode}))
    await session.flush()
    result = ActionResult(ticket, record, None, more_items=items)
    result.notices += [notice_for_item(ticket, item, org, "assigned", f"工单 {ticket.number} 请贵单位会签")
                       for item, org in zip(items, orgs, strict=True)]
    return result


def item_refusal(item: WorkItem, principal: Principal, action: Action) -> DomainError | None:
    """Why ``action`` cannot be taken on a parallel work item the caller holds (None: it can)."""
    if item.kind == WorkItemKind.countersign:
        return None if action is Action.sign else ActionNotAllowed("会签环节只能提交会签意见")
    if action not in (Action.approve, Action.reject):
        return ActionNotAllowed("审批环节只能同意或不同意")
    if not principal.can(Permission.ticket_approve):
        return NotAssignee("无审批权限")
    return None


async def apply_on_item(acting: Acting, item: WorkItem) -> ActionResult:
    refused = item_refusal(item, acting.principal, acting.body.action)
    if refused is not None:
        raise refused
    if item.kind == WorkItemKind.countersign:
        return await _sign(acting, item)
    return await _decide_extension(acting, item)


async def _sign(acting: Acting, item: WorkItem) -> ActionResult:
    session, now, ticket = acting.session, acting.now, acting.ticket
    item.status, item.acted_at, item.version = WorkItemStatus.done, now, item.version + 1
    await session.flush()
    record = acting.record(item, Action.sign)
    parent = (await session.scalars(across_org_tree(select(WorkItem).where(WorkItem.id == item.parent_item_id)))).one()
    siblings = across_org_tree(select(func.count()).select_from(WorkItem)
                               .where(WorkItem.parent_item_id == parent.id, WorkItem.status == WorkItemStatus.open))
    still_open = await session.scalar(siblings) or 0
    if item.details.get("mode") != "any" and still_open:
        return ActionResult(ticket, record, None)
    # Complete: the others (mode "any") are no longer needed, and the holder takes the ticket up again.
    await session.execute(update(WorkItem).where(WorkItem.parent_item_id == parent.id,
                                                 WorkItem.status == WorkItemStatus.open)
                          .values(status=WorkItemStatus.cancelled, acted_at=now, version=WorkItem.version + 1)
                          .execution_options(synchronize_session=False))
    await session.execute(update(WorkItem).where(WorkItem.id == parent.id, WorkItem.status == WorkItemStatus.waiting)
                          .values(status=WorkItemStatus.done, acted_at=now, version=WorkItem.version + 1)
                          .execution_options(synchronize_session=False))
    step = process_for(ticket.process or ticket.type).steps[parent.step]
    back = add_item(session, ticket, parent.step, parent.org_id, now, days=step.days,
                    user_id=parent.assignee_user_id,
                    role=Role(parent.assignee_role) if parent.assignee_role else None,
                    details={"countersigned": True})
    await session.flush()
    org = await session.get(Org, parent.org_id)
    assert org is not None
    result = ActionResult(ticket, record, back)
    result.notices.append(notice_for_item(ticket, back, org, "assigned", f"工单 {ticket.number} 会签已完成"))
    return result


def _reset_deadline(ticket_type: str, received_at: Any, days: int, excluded: int) -> dict[str, Any]:
    return {"decision_days": days, "excluded_days": excluded,
            "decision_due_at": decision_due(ticket_type, received_at, days, excluded),
            "due_state": DueState.normal}


def deadline_refusal(ticket: Ticket, action: Action) -> DomainError | None:
    """Why the deadline of ``ticket`` cannot be extended or paused now (None: it can, given valid input)."""
    if ticket.decision_due_at is None:
        return ActionNotAllowed("该类工单没有法定办理时限")
    if action is Action.extend and (ticket.decision_days or DECISION_DAYS) >= APPROVED_DAYS:
        return DeadlineRuleBroken("办理时限最长 60 日，不能再延期")
    return None


def needs_extension_approval(ticket: Ticket) -> bool:
    """An extension from here on (30 → 60 days) is a request for approval."""
    return (ticket.decision_days or DECISION_DAYS) >= EXTENDED_DAYS


async def extension_pending(session: AsyncSession, ticket: Ticket) -> bool:
    pending = select(WorkItem.id).where(WorkItem.ticket_id == ticket.id, WorkItem.step == EXTENSION_STEP,
                                        WorkItem.status == WorkItemStatus.open)
    return (await session.scalar(across_org_tree(pending))) is not None


async def change_deadline(acting: Acting, current: WorkItem, step: Step) -> ActionResult:
    session, ticket, body = acting.session, acting.ticket, acting.body
    refused = deadline_refusal(ticket, body.action)
    if refused is not None:
        raise refused
    if body.action is Action.appraisal:
        return await _appraisal(acting, current)
    days = ticket.decision_days or DECISION_DAYS
    if not needs_extension_approval(ticket):
        await change(session, ticket, **_reset_deadline(ticket.type, ticket.received_at, EXTENDED_DAYS,
                                                        ticket.excluded_days))
        record = acting.record(current, Action.extend, details={"from_days": days, "to_days": EXTENDED_DAYS,
                                                                "due_at": ticket.decision_due_at.isoformat()})
        await session.flush()
        return ActionResult(ticket, record, None)
    # 30 → 60: approval by the parent org, or the head office's senior manager when the owner is the head office.
    if not body.customer_told:
        raise invalid("customer_told", "延期至 60 日须告知投诉人")
    if await extension_pending(session, ticket):
        raise ActionNotAllowed("已有延期申请在审批中")
    owner = await session.get(Org, ticket.org_id)
    assert owner is not None
    approver = (await session.get(Org, owner.parent_id)) if owner.parent_id else owner
    assert approver is not None
    await share(session, ticket, approver, acting.now)
    record = acting.record(current, Action.extend, target_org_id=approver.id,
                           details={"from_days": days, "to_days": APPROVED_DAYS, "approval": "requested",
                                    "customer_told": True})
    item = add_item(session, ticket, EXTENSION_STEP, approver.id, acting.now, days=APPROVAL_DAYS,
                    role=Role.org_manager, kind=WorkItemKind.approval, parent=current,
                    details={"to_days": APPROVED_DAYS, "reason": body.opinion})
    await session.flush()
    result = ActionResult(ticket, record, None, more_items=[item])
    result.notices.append(notice_for_item(ticket, item, approver, "assigned",
                                          f"工单 {ticket.number} 申请延期至 60 日，请审批"))
    return result


async def _decide_extension(acting: Acting, item: WorkItem) -> ActionResult:
    session, ticket, body = acting.session, acting.ticket, acting.body
    if body.action is Action.reject and not (body.opinion or "").strip():
        raise invalid("opinion", "不同意须填写理由")
    item.status, item.acted_at, item.version = WorkItemStatus.done, acting.now, item.version + 1
    details: dict[str, Any] = {"to_days": item.details.get("to_days", APPROVED_DAYS)}
    if body.action is Action.approve:
        await change(session, ticket, **_reset_deadline(ticket.type, ticket.received_at, APPROVED_DAYS,
                                                        ticket.excluded_days))
        details["due_at"] = ticket.decision_due_at.isoformat() if ticket.decision_due_at else None
    await session.flush()
    record = acting.record(item, body.action, details=details)
    await session.flush()
    return ActionResult(ticket, record, None)


async def _appraisal(acting: Acting, current: WorkItem) -> ActionResult:
    session, ticket, body = acting.session, acting.ticket, acting.body
    if body.appraisal_from is None or body.appraisal_to is None:
        raise Invalid("须填写外部鉴定的起止日期",
                      errors=[{"field": "appraisal_from", "type": "missing", "message": "须填写起止日期"}])
    days = (body.appraisal_to - body.appraisal_from).days + 1
    if days < 1 or days > MAX_APPRAISAL_DAYS:
        raise invalid("appraisal_to", "鉴定结束日期须不早于开始日期，且不超过一年")
    if not body.customer_told:
        raise invalid("customer_told", "外部鉴定期间不计入时限，须告知投诉人")
    excluded = ticket.excluded_days + days
    await change(session, ticket, **_reset_deadline(ticket.type, ticket.received_at,
                                                    ticket.decision_days or DECISION_DAYS, excluded))
    record = acting.record(current, Action.appraisal, details={
        "from": body.appraisal_from.isoformat(), "to": body.appraisal_to.isoformat(), "days": days,
        "due_at": ticket.decision_due_at.isoformat() if ticket.decision_due_at else None})
    await session.flush()
    return ActionResult(ticket, record, None)

