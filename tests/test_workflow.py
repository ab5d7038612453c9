"""Workflow: a complaint travelling the org tree (转办, 上报, 退回, 答复, 结案), its timeline and to-do lists,
who may see and act on it, version conflicts, reopening and withdrawal, and the process definitions' checks.

Every test makes its own users and tickets, so rows other tests left behind never count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.auth.permissions import Role
from backend.core.clock import FrozenClock
from backend.workflow.processes import PROCESS_FILE, ProcessError, load
from tests.conftest import NOW, Stack
from tests.test_tickets import body

TOLD = {"method": "phone", "told_at": "2026-11-25T10:00:00+08:00"}


# Tokens carry an issued-at that PyJWT refuses if it is ahead of the wall clock, so a test that moves time
# starts in the past and stays there.
START = NOW - timedelta(days=5)


@pytest.fixture
def clock(stack: Stack) -> Iterator[FrozenClock]:
    stack.clock.set(START)
    stack.forget_tokens()
    yield stack.clock
    stack.clock.set(NOW)  # the stack is shared: leave time where other tests expect it
    stack.forget_tokens()


def later(stack: Stack, delta: timedelta) -> None:
    """Move the clock on; logins expire with time, so each user logs in again at the new time."""
    stack.clock.advance(delta)
    stack.forget_tokens()


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"wf_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def register(stack: Stack, kind: str = "complaint") -> dict[str, Any]:
    agent = await user(stack, Role.agent, "outlet")
    r = await stack.post(agent, "/api/tickets", json=body(kind))
    assert r.status_code == 201, r.text
    return r.json()


async def act(stack: Stack, who: str, ticket_id: int, action: str, version: int, **fields: Any) -> httpx.Response:
    return await stack.post(who, f"/api/tickets/{ticket_id}/actions",
                            json={"action": action, "version": version, **fields})


async def ok(stack: Stack, who: str, ticket_id: int, action: str, version: int, **fields: Any) -> dict[str, Any]:
    r = await act(stack, who, ticket_id, action, version, **fields)
    assert r.status_code == 200, r.text
    return r.json()


async def todo_ids(stack: Stack, who: str) -> set[int]:
    r = await stack.get(who, "/api/workflow/todo")
    assert r.status_code == 200, r.text
    return {w["ticket_id"] for w in r.json()}


async def timeline(stack: Stack, who: str, ticket_id: int) -> list[dict[str, Any]]:
    r = await stack.get(who, f"/api/tickets/{ticket_id}/timeline")
    assert r.status_code == 200, r.text
    return r.json()


# --- the journey of a complaint


async def decide(stack: Stack, handler: str, manager: str, tid: int, version: int) -> int:
    """拟办 → 审批 → 答复 → 结案 at the handler's org; the ticket's version afterwards."""
    await ok(stack, handler, tid, "propose", version, opinion="拟同意客户诉求，补付理赔款")
    await ok(stack, manager, tid, "approve", version + 1, opinion="同意")
    await ok(stack, handler, tid, "reply", version + 2, reply=TOLD)
    closed = await ok(stack, handler, tid, "close", version + 3, opinion="客户接受")
    assert closed["status"] == "closed"
    return int(closed["version"])


async def test_given_an_outlet_complaint_when_it_travels_the_tree_then_each_step_is_recorded_and_it_closes(
        stack: Stack, clock: FrozenClock) -> None:
    """The issue's scenario: register → transfer → countersign by two branches → escalate → return → approve →
    reply → close, each step with its actor, org and times on the timeline."""
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    hq_handler = await user(stack, Role.complaint_handler, "hq")
    branch_handler = await user(stack, Role.complaint_handler, "branch")
    other_branch_handler = await user(stack, Role.complaint_handler, "other_branch")
    central_handler = await user(stack, Role.complaint_handler, "central")
    central_manager = await user(stack, Role.org_manager, "central")
    t = await register(stack)
    tid, outlet, central, hq = t["id"], stack.orgs["outlet"].id, stack.orgs["central"].id, stack.orgs["hq"].id
    branch, other_branch = stack.orgs["branch"].id, stack.orgs["other_branch"].id

    todo = [w for w in (await stack.get(outlet_handler, "/api/workflow/todo")).json() if w["ticket_id"] == tid]
    assert [(w["step"], w["org_id"], w["ticket_number"]) for w in todo] == [("handle", outlet, t["number"])]
    assert datetime.fromisoformat(todo[0]["due_at"]) == START + timedelta(days=5)  # handle: 5 days

    later(stack, timedelta(hours=2))
    moved = await ok(stack, outlet_handler, tid, "transfer", 1, target_org_id=hq, opinion="涉及总公司产品条款")
    assert moved["work_item"]["org_id"] == hq and moved["org_id"] == outlet  # going up keeps the owner
    assert tid not in await todo_ids(stack, outlet_handler) and tid in await todo_ids(stack, hq_handler)

    # 会签 by two branches; the other branch cannot see the outlet's ticket until it is asked
    assert (await stack.get(other_branch_handler, f"/api/tickets/{tid}")).status_code == 404
    later(stack, timedelta(hours=1))
    asked = await ok(stack, hq_handler, tid, "countersign", 2, target_org_ids=[branch, other_branch],
                     opinion="请两家分公司核实销售过程")
    assert sorted(w["org_id"] for w in asked["work_items"]) == sorted([branch, other_branch])
    assert tid not in await todo_ids(stack, hq_handler)  # waiting for the opinions
    assert (await stack.get(other_branch_handler, f"/api/tickets/{tid}")).status_code == 200
    assert tid in await todo_ids(stack, branch_handler) and tid in await todo_ids(stack, other_branch_handler)
    later(stack, timedelta(hours=1))
    first = await ok(stack, branch_handler, tid, "sign", 3, opinion="销售过程合规")
    assert first["work_item"] is None and tid not in await todo_ids(stack, hq_handler)
    second = await ok(stack, other_branch_handler, tid, "sign", 4, opinion="无相关记录")
    assert second["work_item"]["org_id"] == hq and second["work_item"]["step"] == "handle"
    assert tid in await todo_ids(stack, hq_handler)

    later(stack, timedelta(hours=1))
    await ok(stack, hq_handler, tid, "transfer", 5, target_org_id=central, opinion="请中支处理")
    later(stack, timedelta(days=1))
    await ok(stack, central_handler, tid, "escalate", 6, opinion="需分公司协调")
    assert tid in await todo_ids(stack, branch_handler)
    later(stack, timedelta(hours=3))
    back = await ok(stack, branch_handler, tid, "return", 7, opinion="请中支按条款处理")
    assert back["work_item"]["org_id"] == central and back["work_item"]["step"] == "handle"

    later(stack, timedelta(hours=1))
    assert (await act(stack, central_handler, tid, "reply", 8, reply=TOLD)).status_code == 409  # not approved yet
    proposed = await ok(stack, central_handler, tid, "propose", 8, opinion="拟同意客户诉求")
    assert proposed["work_item"]["step"] == "approve" and proposed["work_item"]["assignee_role"] == "org_manager"
    assert tid not in await todo_ids(stack, central_handler) and tid in await todo_ids(stack, central_manager)
    await ok(stack, central_manager, tid, "approve", 9, opinion="同意")
    replied = await ok(stack, central_handler, tid, "reply", 10, opinion="已电话告知处理结果", reply=TOLD)
    assert replied["work_item"]["step"] == "close"
    closed = await ok(stack, central_handler, tid, "close", 11, opinion="客户接受")
    assert (closed["status"], closed["version"], closed["work_item"]) == ("closed", 12, None)
    assert tid not in await todo_ids(stack, central_handler)

    steps = await timeline(stack, central_handler, tid)
    assert [s["action"] for s in steps] == ["submit", "transfer", "countersign", "sign", "sign", "transfer",
                                            "escalate", "return", "propose", "approve", "reply", "close"]
    assert [s["actor_org_id"] for s in steps] == [outlet, outlet, hq, branch, other_branch, hq, central, branch,
                                                  central, central, central, central]
    assert steps[3]["opinion"] == "销售过程合规" and steps[10]["details"]["method"] == "phone"
    hours = [(datetime.fromisoformat(s["acted_at"]) - START) / timedelta(hours=1) for s in steps]
    assert hours == [0, 2, 3, 4, 4, 5, 29, 32, 33, 33, 33, 33]
    # received_at: when that person got it (the branch got the countersign item at hour 3)
    assert datetime.fromisoformat(steps[3]["received_at"]) == START + timedelta(hours=3)
    done = (await stack.get(central_handler, "/api/workflow/done")).json()
    assert [d["last_action"] for d in done if d["ticket_id"] == tid] == ["close"]
    closed_list = (await stack.get(central_handler, "/api/workflow/closed")).json()
    assert [c["id"] for c in closed_list if c["id"] == tid] == [tid]
    # once signed, the other branch still sees the ticket it worked on (its 已办), but nothing of its own tree
    assert (await stack.get(other_branch_handler, f"/api/tickets/{tid}")).status_code == 200


async def test_given_an_outlet_complaint_when_read_by_a_sibling_outlet_then_never_seen_and_the_branch_manager_sees_it(
        stack: Stack) -> None:
    sibling = await user(stack, Role.complaint_handler, "sibling_outlet")
    manager = await user(stack, Role.org_manager, "branch")
    t = await register(stack)
    tid = t["id"]
    assert (await stack.get(sibling, f"/api/tickets/{tid}")).status_code == 404
    assert (await stack.get(sibling, f"/api/tickets/{tid}/timeline")).status_code == 404
    assert (await stack.get(sibling, "/api/tickets", params={"number": t["number"]})).json() == []
    assert tid not in await todo_ids(stack, sibling)
    assert (await act(stack, sibling, tid, "close", 1)).status_code == 404

    assert (await stack.get(manager, f"/api/tickets/{tid}")).status_code == 200
    assert [s["action"] for s in await timeline(stack, manager, tid)] == ["submit"]
    # seeing is not acting: the work item is the outlet's
    r = await act(stack, manager, tid, "escalate", 1)
    assert r.status_code == 403 and r.json()["type"].endswith(":not-assignee")


async def test_given_a_branch_transfer_down_to_another_outlet_when_done_then_ownership_moves_with_it(
        stack: Stack) -> None:
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    branch_handler = await user(stack, Role.complaint_handler, "branch")
    sibling = await user(stack, Role.complaint_handler, "sibling_outlet")
    t = await register(stack)
    tid, sibling_org = t["id"], stack.orgs["sibling_outlet"].id
    await ok(stack, outlet_handler, tid, "transfer", 1, target_org_id=stack.orgs["branch"].id)
    moved = await ok(stack, branch_handler, tid, "transfer", 2, target_org_id=sibling_org, opinion="由属地网点处理")
    assert moved["org_id"] == sibling_org

    assert (await stack.get(sibling, f"/api/tickets/{tid}")).json()["org_id"] == sibling_org
    assert tid in await todo_ids(stack, sibling)
    assert (await stack.get(outlet_handler, f"/api/tickets/{tid}")).status_code == 404
    assert (await stack.get(branch_handler, f"/api/tickets/{tid}")).status_code == 200


async def test_given_a_transfer_to_a_named_user_when_done_then_only_that_user_may_act(stack: Stack) -> None:
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    colleague = await user(stack, Role.complaint_handler, "outlet")
    named = await user(stack, Role.complaint_handler, "outlet")
    named_id = (await stack.get(named, "/api/auth/me")).json()["id"]
    t = await register(stack)
    moved = await ok(stack, outlet_handler, t["id"], "transfer", 1, target_user_id=named_id)
    assert (moved["work_item"]["assignee_kind"], moved["work_item"]["assignee_user_id"]) == ("user", named_id)
    assert t["id"] not in await todo_ids(stack, colleague) and t["id"] in await todo_ids(stack, named)
    assert (await act(stack, colleague, t["id"], "escalate", 2)).status_code == 403
    await ok(stack, named, t["id"], "escalate", 2)


# --- concurrency and versions


async def test_given_two_handlers_acting_at_once_when_both_send_the_same_version_then_one_200_and_one_409(
        stack: Stack) -> None:
    a = await user(stack, Role.complaint_handler, "outlet")
    b = await user(stack, Role.complaint_handler, "outlet")
    await stack.token(a), await stack.token(b)
    t = await register(stack)
    responses = await asyncio.gather(act(stack, a, t["id"], "escalate", 1, opinion="A"),
                                     act(stack, b, t["id"], "transfer", 1, target_org_id=stack.orgs["branch"].id))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["current"]["version"] == 2
    assert [s["action"] for s in await timeline(stack, a, t["id"])][1:] in (["escalate"], ["transfer"])


async def test_given_a_stale_version_when_acting_then_409_with_the_current_ticket_and_nothing_written(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    await ok(stack, handler, t["id"], "transfer", 1, target_org_id=stack.orgs["outlet"].id)
    r = await act(stack, handler, t["id"], "escalate", 1)
    assert r.status_code == 409 and r.json()["type"].endswith(":ticket-stale") and r.json()["current"]["version"] == 2
    assert len(await timeline(stack, handler, t["id"])) == 2


# --- rules


async def test_given_a_complaint_without_reply_when_closed_then_409_and_a_consultation_closes_directly(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    r = await act(stack, handler, t["id"], "close", 1)
    assert r.status_code == 409 and r.json()["type"].endswith(":action-not-allowed")
    assert len(await timeline(stack, handler, t["id"])) == 1
    c = await register(stack, "consultation")
    assert (await ok(stack, handler, c["id"], "close", 1))["status"] == "closed"


async def test_given_a_closed_complaint_when_reopened_with_a_reason_then_open_at_the_owner_org(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    manager = await user(stack, Role.org_manager, "outlet")
    t = await register(stack)
    v = await decide(stack, handler, manager, t["id"], 1)
    assert (await act(stack, handler, t["id"], "reopen", v)).status_code == 422
    assert (await act(stack, handler, t["id"], "close", v)).status_code == 409
    reopened = await ok(stack, handler, t["id"], "reopen", v, opinion="客户提供新的事实")
    assert reopened["status"] == "open" and reopened["work_item"]["org_id"] == stack.orgs["outlet"].id
    # new facts restart the clock: 15 days from the reopening day
    assert reopened["decision_days"] == 15
    assert t["id"] in await todo_ids(stack, handler)
    assert (await act(stack, handler, t["id"], "reopen", v + 1, opinion="再次")).status_code == 409


async def test_given_a_withdrawal_when_recorded_with_a_reason_then_closed_with_the_withdrawal_date(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    assert (await act(stack, handler, t["id"], "withdraw", 1)).status_code == 422
    done = await ok(stack, handler, t["id"], "withdraw", 1, opinion="客户来电撤诉",
                    withdrawn_at="2026-11-23T16:30:00+08:00")
    assert done["status"] == "closed" and done["record"]["details"] == {"withdrawn_at": "2026-11-23T16:30:00+08:00"}
    assert t["id"] not in await todo_ids(stack, handler)


async def test_given_a_draft_submitted_by_a_colleague_then_the_submit_record_names_who_submitted(stack: Stack) -> None:
    author, colleague = await user(stack, Role.agent, "outlet"), await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    draft = (await stack.post(author, "/api/tickets", json=body("complaint", submit=False))).json()
    submitted = await stack.post(colleague, f"/api/tickets/{draft['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    [record] = [r for r in await timeline(stack, handler, draft["id"]) if r["action"] == "submit"]
    assert record["actor_name"] == colleague and record["actor_user_id"] != draft["created_by"]


async def test_given_bad_input_when_acting_then_4xx_and_nothing_written(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    agent = await user(stack, Role.agent, "outlet")
    hq_handler = await user(stack, Role.complaint_handler, "hq")
    t = await register(stack)
    tid = t["id"]
    cases = [
        (handler, {"action": "approve_everything", "version": 1}, 422),
        (handler, {"action": "submit", "version": 1}, 422),
        (handler, {"action": "return", "version": 1}, 422),  # no reason
        (handler, {"action": "reply", "version": 1}, 422),  # no reply method
        (handler, {"action": "transfer", "version": 1, "target_org_id": stack.orgs["sibling_outlet"].id}, 422),
        (handler, {"action": "transfer", "version": 1, "target_org_id": stack.orgs["other_outlet"].id}, 422),
        (handler, {"action": "transfer", "version": 1}, 422),
        (handler, {"action": "transfer", "version": 1, "target_org_id": 10**12}, 422),
        (handler, {"action": "return", "version": 1, "opinion": "无上一环节"}, 409),
        (agent, {"action": "escalate", "version": 1}, 403),
        (hq_handler, {"action": "escalate", "version": 1}, 403),
    ]
    for who, payload, status in cases:
        r = await stack.post(who, f"/api/tickets/{tid}/actions", json=payload)
        assert r.status_code == status, (payload, r.text)
    assert (await stack.get(handler, f"/api/tickets/{tid}")).json()["version"] == 1
    assert len(await timeline(stack, handler, tid)) == 1
    assert tid in await todo_ids(stack, handler)


# --- process definitions


def test_given_the_shipped_processes_when_loaded_then_complaints_start_at_handle_with_five_days() -> None:
    processes = load()
    assert processes["complaint"].first.name == "handle" and processes["complaint"].first.days == 5


def test_given_an_unknown_action_when_loading_processes_then_the_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "processes.yaml"
    bad.write_text(PROCESS_FILE.read_text(encoding="utf-8").replace("escalate: {}", "teleport: {}", 1),
                   encoding="utf-8")
    with pytest.raises(ProcessError, match=rf"{bad}.*teleport"):
        load(bad)
    bad.write_text(PROCESS_FILE.read_text(encoding="utf-8").replace("next: close", "next: nowhere"),
                   encoding="utf-8")
    with pytest.raises(ProcessError, match="nowhere"):
        load(bad)
