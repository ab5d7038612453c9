"""Allowed workflow actions: what each user is offered on a ticket at each point of its journey, and that the
offer and act() agree — every action offered is accepted, every action not offered is refused.

Every test makes its own users and tickets, so rows other tests left behind never count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from backend.auth.permissions import Role
from backend.orgs.scope import Scope
from backend.workflow.models import WorkItem
from tests.conftest import Stack
from tests.test_workflow import TOLD, act, ok, register, user

HANDLE_ACTIONS = ["transfer", "escalate", "countersign", "propose", "extend", "appraisal", "merge", "withdraw"]
REQUESTABLE = ["transfer", "escalate", "return", "reply", "close", "reopen", "withdraw", "countersign", "sign",
               "propose", "approve", "reject", "extend", "appraisal", "merge", "supervise", "urge"]


async def allowed(stack: Stack, who: str, ticket_id: int) -> dict[str, Any]:
    r = await stack.get(who, f"/api/tickets/{ticket_id}/allowed-actions")
    assert r.status_code == 200, r.text
    return r.json()


async def names(stack: Stack, who: str, ticket_id: int) -> list[str]:
    return [a["action"] for a in (await allowed(stack, who, ticket_id))["actions"]]


async def inputs(stack: Stack, action: str) -> dict[str, Any]:
    """Valid input for ``action`` on a fresh outlet complaint acted on by the outlet's handler."""
    central = stack.orgs["central"].id
    extra: dict[str, Any] = {
        "transfer": {"target_org_id": central}, "countersign": {"target_org_ids": [central]},
        "reply": {"reply": TOLD}, "appraisal": {"appraisal_from": "2026-11-24", "appraisal_to": "2026-11-26",
                                                "customer_told": True},
    }.get(action, {})
    if action == "merge":
        extra = {"merge_into_ticket_id": (await register(stack))["id"]}
    return {"opinion": "办理意见", **extra}


async def test_given_a_fresh_complaint_when_its_holder_asks_then_the_handle_steps_actions_and_urge(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    got = await allowed(stack, handler, t["id"])
    assert (got["ticket_id"], got["version"]) == (t["id"], t["version"])
    # 退回: nowhere to return to yet; 答复/结案: not at this step of a complaint; 督办: not a superior.
    assert [a["action"] for a in got["actions"]] == [*HANDLE_ACTIONS, "urge"]
    offers = {a["action"]: a for a in got["actions"]}
    item_id = offers["transfer"]["work_item_id"]
    assert isinstance(item_id, int)
    assert offers["transfer"] == {"action": "transfer", "label": "转办", "needs_opinion": False, "target": "org",
                                  "work_item_id": item_id, "step": "handle"}
    assert {a: (o["label"], o["target"], o["needs_opinion"]) for a, o in offers.items()} == {
        "transfer": ("转办", "org", False), "escalate": ("上报", None, False), "countersign": ("会签", "orgs", True),
        "propose": ("拟办", None, True), "extend": ("延期", None, True), "appraisal": ("外部鉴定", None, False),
        "merge": ("合并", "ticket", True), "withdraw": ("撤回", None, True), "urge": ("催办", None, True)}
    assert all(o["work_item_id"] == item_id for a, o in offers.items() if a != "urge")
    assert (offers["urge"]["work_item_id"], offers["urge"]["step"]) == (None, None)


async def test_given_users_who_do_not_hold_the_item_then_no_step_actions(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    auditor = await user(stack, Role.auditor, "outlet")
    sibling = await user(stack, Role.complaint_handler, "sibling_outlet")
    t = await register(stack)
    assert await names(stack, agent, t["id"]) == ["urge"]  # same org, no right to handle
    assert await names(stack, auditor, t["id"]) == []  # reads only
    r = await stack.get(sibling, f"/api/tickets/{t['id']}/allowed-actions")
    assert r.status_code == 404, r.text  # outside the sibling's scope, like every ticket route
    field = await user(stack, Role.field_staff, "outlet")
    assert (await stack.get(field, f"/api/tickets/{t['id']}/allowed-actions")).status_code == 403

    # Sent up to the central sub-branch: the outlet still sees it (it owns it) but no longer holds it.
    await ok(stack, handler, t["id"], "transfer", 1, target_org_id=stack.orgs["central"].id, opinion="请中支处理")
    assert await names(stack, handler, t["id"]) == ["urge"]
    central = await user(stack, Role.complaint_handler, "central")
    # Now there is a step to return to; and the central handler is the outlet's superior, but not a supervisor.
    assert await names(stack, central, t["id"]) == ["transfer", "escalate", "return", "countersign", "propose",
                                                    "extend", "appraisal", "merge", "withdraw", "urge"]


async def test_given_a_proposal_when_the_approver_asks_then_approve_and_return_and_the_proposer_none(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    manager = await user(stack, Role.org_manager, "outlet")
    t = await register(stack)
    await ok(stack, handler, t["id"], "propose", 1, opinion="拟同意客户诉求")
    got = await allowed(stack, manager, t["id"])
    assert [(a["action"], a["label"], a["step"]) for a in got["actions"]] == [
        ("approve", "审批", "approve"), ("return", "退回", "approve"), ("withdraw", "撤回", "approve"),
        ("urge", "催办", None)]
    assert got["version"] == 2
    assert await names(stack, handler, t["id"]) == ["urge"]  # the approval step is the manager's


async def move_open_item(stack: Stack, ticket_id: int, step: str) -> None:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(WorkItem).where(WorkItem.ticket_id == ticket_id, WorkItem.status == "open")
                        .values(step=step))


async def test_given_a_complaint_at_the_close_step_without_a_reply_then_close_is_not_offered_nor_accepted(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    manager = await user(stack, Role.org_manager, "outlet")
    t = await register(stack)
    await ok(stack, handler, t["id"], "propose", 1, opinion="拟同意")
    await ok(stack, manager, t["id"], "approve", 2, opinion="同意")
    assert await names(stack, handler, t["id"]) == ["reply", "extend", "appraisal", "return", "withdraw", "urge"]
    # A close step reached without a reply on record (a process that skipped it): close waits for the reply.
    await move_open_item(stack, t["id"], "close")
    assert await names(stack, handler, t["id"]) == ["return", "withdraw", "urge"]
    r = await act(stack, handler, t["id"], "close", 3, opinion="结案")
    assert r.status_code == 409 and r.json()["type"].endswith("prerequisite-missing"), r.text

    await move_open_item(stack, t["id"], "reply")
    await ok(stack, handler, t["id"], "reply", 3, reply=TOLD)
    assert await names(stack, handler, t["id"]) == ["return", "close", "withdraw", "urge"]
    await ok(stack, handler, t["id"], "close", 4, opinion="客户接受")
    # Closed: only reopening is left, and only for those who handle tickets.
    assert [(a["action"], a["label"], a["needs_opinion"]) for a in (await allowed(stack, handler, t["id"]))["actions"]] \
        == [("reopen", "重开", True)]
    assert await names(stack, await user(stack, Role.agent, "outlet"), t["id"]) == []


async def test_given_a_superior_when_asking_then_supervise_and_urge_only(stack: Stack) -> None:
    branch_manager = await user(stack, Role.org_manager, "branch")
    outlet_manager = await user(stack, Role.org_manager, "outlet")
    t = await register(stack)
    got = await allowed(stack, branch_manager, t["id"])
    assert [(a["action"], a["label"], a["needs_opinion"], a["work_item_id"]) for a in got["actions"]] == [
        ("supervise", "督办", True, None), ("urge", "催办", True, None)]
    # The outlet's own manager holds the item (any handler of the org) but is no superior of it.
    assert "supervise" not in await names(stack, outlet_manager, t["id"])


async def test_given_countersign_and_extension_items_then_their_holders_see_sign_and_approve_or_reject(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    central_handler = await user(stack, Role.complaint_handler, "central")
    central_manager = await user(stack, Role.org_manager, "central")
    t = await register(stack)
    asked = await ok(stack, handler, t["id"], "countersign", 1, opinion="请中支会签",
                     target_org_ids=[stack.orgs["central"].id])
    [item] = asked["work_items"]
    got = await allowed(stack, central_handler, t["id"])
    assert [(a["action"], a["label"], a["work_item_id"], a["step"], a["needs_opinion"]) for a in got["actions"]] \
        == [("sign", "会签意见", item["id"], "countersign", True), ("urge", "催办", None, None, True)]
    assert await names(stack, handler, t["id"]) == ["urge"]  # the holder's item waits for the opinion
    await ok(stack, central_handler, t["id"], "sign", 2, opinion="同意处理意见", work_item_id=item["id"])

    await ok(stack, handler, t["id"], "extend", 3, opinion="案情复杂")
    assert "extend" in await names(stack, handler, t["id"])  # 30 → 60 may still be asked for
    requested = await ok(stack, handler, t["id"], "extend", 4, opinion="需外部核实", customer_told=True)
    [approval] = requested["work_items"]
    offered = (await allowed(stack, central_manager, t["id"]))["actions"]
    assert [(a["action"], a["label"], a["work_item_id"]) for a in offered if a["work_item_id"]] == [
        ("approve", "同意", approval["id"]), ("reject", "不同意", approval["id"])]
    assert {"supervise", "urge"} <= {a["action"] for a in offered}
    # A request is pending: no second one, though the main line goes on. (The countersign left a step behind
    # the holder's new item, so 退回 is there now.)
    assert await names(stack, handler, t["id"]) == ["transfer", "escalate", "return", "countersign", "propose",
                                                    "appraisal", "merge", "withdraw", "urge"]
    await ok(stack, central_manager, t["id"], "approve", 5, work_item_id=approval["id"])
    assert "extend" not in await names(stack, handler, t["id"])  # 60 days is the most there is


async def test_given_each_action_offered_on_a_fresh_complaint_when_taken_then_accepted_and_the_rest_refused(
        stack: Stack) -> None:
    """The offer and act() agree, in both directions, for the holder and for a superior."""
    for who in (await user(stack, Role.complaint_handler, "outlet"), await user(stack, Role.org_manager, "branch")):
        fresh = await register(stack)
        offered = await names(stack, who, fresh["id"])
        assert offered
        for action in offered:
            t = await register(stack)
            r = await act(stack, who, t["id"], action, t["version"], **await inputs(stack, action))
            assert r.status_code == 200, (action, r.text)
        for action in (a for a in REQUESTABLE if a not in offered):
            r = await act(stack, who, fresh["id"], action, fresh["version"], **await inputs(stack, action))
            assert r.status_code in (403, 409), (action, r.text)
            assert r.json()["type"].rsplit(":", 1)[1] in {"action-not-allowed", "not-assignee", "forbidden",
                                                          "prerequisite-missing"}, (action, r.text)


async def test_given_an_outlet_holder_when_offered_transfer_then_targets_name_its_line_up_and_not_a_sibling(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    got = await allowed(stack, handler, t["id"])
    targets = {o["id"]: o["name"] for o in got["target_orgs"]}
    for key in ("hq", "branch", "central", "outlet"):
        assert targets[stack.orgs[key].id] == stack.orgs[key].name  # named, though above the handler's scope
    assert stack.orgs["sibling_outlet"].id not in targets
    assert stack.orgs["other_branch"].id not in targets
    assert [o["depth"] for o in got["target_orgs"]] == sorted(o["depth"] for o in got["target_orgs"])
    # A reader offered nothing that sends work is told of no orgs.
    agent = await user(stack, Role.agent, "sibling_outlet")
    assert (await stack.get(agent, f"/api/tickets/{t['id']}/allowed-actions")).status_code == 404


async def test_given_a_transfer_up_the_line_when_the_timeline_is_read_then_org_names_are_given(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    await ok(stack, handler, t["id"], "transfer", 1, target_org_id=stack.orgs["central"].id, opinion="请协助")
    records = (await stack.get(handler, f"/api/tickets/{t['id']}/timeline")).json()
    assert [(r["action"], r["actor_org_name"], r["target_org_name"]) for r in records] == [
        ("submit", stack.orgs["outlet"].name, stack.orgs["outlet"].name),
        ("transfer", stack.orgs["outlet"].name, stack.orgs["central"].name)]
