"""Which workflow actions the caller may take on a ticket now: the buttons a ticket screen offers.

Answered by the same rules ``backend.workflow.services.act`` applies, called rather than restated: the open work
items the caller holds (``held_items``), the step's actions and their prerequisites (``step_rule``), what a
countersign or approval item allows (``parallel.item_refusal``), the deadline rules
(``parallel.deadline_refusal``) and the oversight actions (``oversight.refusal``). An action offered is one act()
accepts given valid input — an opinion, a target, a reply; that input is not judged here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.core.problems import DomainError
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.models import Ticket, TicketStatus
from backend.tickets.services import get_ticket
from backend.workflow import oversight, parallel
from backend.workflow.models import WorkItem, WorkItemKind
from backend.workflow.processes import Action, process_for
from backend.workflow.services import NEEDS_OPINION, escalation_target, held_items, previous_step_item, step_rule
from backend.workflow.writes import reachable

Target = Literal["org", "orgs", "user", "ticket"]

LABELS: dict[Action, str] = {
    Action.transfer: "转办", Action.escalate: "上报", Action.return_: "退回", Action.countersign: "会签",
    Action.sign: "会签意见", Action.propose: "拟办", Action.approve: "审批", Action.reject: "不同意",
    Action.extend: "延期", Action.appraisal: "外部鉴定", Action.merge: "合并", Action.reply: "答复",
    Action.close: "结案", Action.reopen: "重开", Action.withdraw: "撤回", Action.supervise: "督办",
    Action.urge: "催办",
}
APPROVAL_ITEM_LABELS = {Action.approve: "同意", Action.reject: "不同意"}  # deciding an extension request
# What the actor must name. 上报 names nothing: act() sends it to the holder's parent org itself.
TARGETS: dict[Action, Target] = {Action.transfer: "org", Action.countersign: "orgs", Action.merge: "ticket"}
ITEM_ACTIONS = (Action.sign, Action.approve, Action.reject)
OVERSIGHT_ACTIONS = tuple(a for a in Action if a in oversight.ACTIONS)  # in the enum's order


class AllowedAction(BaseModel):
    action: Action
    label: str
    needs_opinion: bool
    target: Target | None
    work_item_id: int | None  # send it back with the action (the caller may hold several items)
    step: str | None


class TargetOrg(BaseModel):
    id: int
    name: str
    depth: int
    parent_id: int | None


class AllowedActions(BaseModel):
    ticket_id: int
    version: int  # the version to send with the action
    actions: list[AllowedAction]
    target_orgs: list[TargetOrg] = Field(
        default_factory=list, description="where 转办/会签 may send the ticket (the caller's own line up to 总公司, "
                                          "and their subtree), in tree order; empty when no such action is offered")


def _offer(action: Action, item: WorkItem | None) -> AllowedAction:
    on_approval = item is not None and item.kind == WorkItemKind.approval
    label = APPROVAL_ITEM_LABELS[action] if on_approval else LABELS[action]
    return AllowedAction(action=action, label=label, needs_opinion=action in NEEDS_OPINION,
                         target=TARGETS.get(action), work_item_id=item.id if item else None,
                         step=item.step if item else None)


async def _blocked_by_state(session: AsyncSession, ticket: Ticket, item: WorkItem, action: Action) -> bool:
    """The refusals act() makes after the step's rule that depend on where the ticket stands, not on input."""
    if action is Action.escalate:
        return await escalation_target(session, item) is None
    if action is Action.return_:
        return await previous_step_item(session, ticket.id, item.id) is None
    if action in (Action.extend, Action.appraisal):
        if parallel.deadline_refusal(ticket, action) is not None:
            return True
        return (action is Action.extend and parallel.needs_extension_approval(ticket)
                and await parallel.extension_pending(session, ticket))
    return False


async def _on_item(session: AsyncSession, principal: Principal, ticket: Ticket, item: WorkItem) -> list[Action]:
    if item.kind != WorkItemKind.step:
        return [a for a in ITEM_ACTIONS if parallel.item_refusal(item, principal, a) is None]
    out = []
    for action in process_for(ticket.process or ticket.type).steps[item.step].actions:
        try:
            await step_rule(session, principal, ticket, item, action)
        except DomainError:
            continue
        if not await _blocked_by_state(session, ticket, item, action):
            out.append(action)
    return out


async def allowed_actions(session: AsyncSession, principal: Principal, ticket_id: int) -> AllowedActions:
    """The caller's actions on the ticket: those of each work item they hold (in the process's order), then the
    oversight ones. Not found outside the caller's scope, like every ticket read."""
    ticket = await get_ticket(session, ticket_id)
    offers: list[AllowedAction] = []
    if ticket.status == TicketStatus.open:
        for item in await held_items(session, ticket.id, principal):
            offers += [_offer(action, item) for action in await _on_item(session, principal, ticket, item)]
    for action in OVERSIGHT_ACTIONS:
        if await oversight.refusal(session, principal, ticket, action) is None:
            offers.append(_offer(action, None))
    targets = await _target_orgs(session, principal) if any(o.target in ("org", "orgs") for o in offers) else []
    return AllowedActions(ticket_id=ticket.id, version=ticket.version, actions=offers, target_orgs=targets)


async def _target_orgs(session: AsyncSession, principal: Principal) -> list[TargetOrg]:
    """The orgs ``writes.reachable`` lets work go to, with their names: a handler must be able to name the branch
    above them, which their scope otherwise hides."""
    stmt = across_org_tree(select(Org).where(or_(literal(principal.org_path).startswith(Org.path),
                                                 Org.path.startswith(principal.org_path))).order_by(Org.path))
    return [TargetOrg(id=o.id, name=o.name, depth=o.depth, parent_id=o.parent_id)
            for o in (await session.scalars(stmt)).all() if reachable(principal, o)]
