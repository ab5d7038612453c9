"""Workflow rules beyond the main line: deadlines by regulation (15 → 30 → 60 only with approval, appraisal
periods left out), the deadline job (将超期, 超期, escalation, no double-fire), 督办 and 催办, merge, withdrawal.

Every test makes its own users and tickets, so rows other tests left behind never count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.auth.permissions import Role
from backend.core.bus import FROM_START
from backend.core.clock import FrozenClock
from backend.core.events import TicketNotice
from backend.tickets.numbering import SHANGHAI
from backend.workflow.deadline_job import check_deadlines
from backend.workflow.processes import ProcessError, load
from tests.conftest import NOW, Stack
from tests.test_tickets import body
from tests.test_workflow import act, decide, ok, timeline, todo_ids, user


@pytest.fixture
def clock(stack: Stack) -> Iterator[FrozenClock]:
    stack.forget_tokens()
    yield stack.clock
    stack.clock.set(NOW)
    stack.forget_tokens()


async def register(stack: Stack, kind: str = "complaint", **fields: Any) -> dict[str, Any]:
    agent = await user(stack, Role.agent, "outlet")
    r = await stack.post(agent, "/api/tickets", json=body(kind, **fields))
    assert r.status_code == 201, r.text
    return r.json()


def day_end(received: str, days: int) -> datetime:
    day = datetime.fromisoformat(received).astimezone(SHANGHAI).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


async def notices(stack: Stack, after: str, ticket_id: int) -> list[TicketNotice]:
    out: list[TicketNotice] = []
    for envelope in await stack.ctx.bus.read("tickets", after=after, limit=10_000):
        if isinstance(envelope.event, TicketNotice) and envelope.event.ticket_id == ticket_id:
            out.append(envelope.event)
    return out


async def test_given_a_complaint_when_extended_then_30_days_and_60_only_with_the_parent_orgs_approval(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    outlet_manager = await user(stack, Role.org_manager, "outlet")
    central_manager = await user(stack, Role.org_manager, "central")
    t = await register(stack)
    tid = t["id"]
    assert datetime.fromisoformat(t["decision_due_at"]) == day_end(t["received_at"], 15)

    assert (await act(stack, handler, tid, "extend", 1)).status_code == 422  # a reason is required
    thirty = await ok(stack, handler, tid, "extend", 1, opinion="案情复杂，需调取录音")
    assert thirty["decision_days"] == 30
    assert datetime.fromisoformat(thirty["decision_due_at"]) == day_end(t["received_at"], 30)

    # 30 → 60: the complainant must be told, and the parent org (中心支公司) must approve
    assert (await act(stack, handler, tid, "extend", 2, opinion="需外部核实")).status_code == 422
    asked = await ok(stack, handler, tid, "extend", 2, opinion="需外部核实", customer_told=True)
    assert asked["decision_days"] == 30  # not yet
    [approval] = asked["work_items"]
    assert (approval["org_id"], approval["assignee_role"], approval["kind"]) == (
        stack.orgs["central"].id, "org_manager", "approval")
    assert (await act(stack, handler, tid, "extend", 3, opinion="再次", customer_told=True)).status_code == 409
    # the outlet's own manager is not the approver; the central manager is
    assert (await act(stack, outlet_manager, tid, "approve", 3, work_item_id=approval["id"])).status_code == 403
    assert tid in await todo_ids(stack, central_manager)
    approved = await ok(stack, central_manager, tid, "approve", 3, work_item_id=approval["id"], opinion="同意")
    assert approved["decision_days"] == 60
    assert datetime.fromisoformat(approved["decision_due_at"]) == day_end(t["received_at"], 60)
    r = await act(stack, handler, tid, "extend", 4, opinion="还要延", customer_told=True)
    assert r.status_code == 409 and r.json()["type"].endswith(":deadline-rule")
    # the main line went on meanwhile: the outlet still holds the ticket
    assert tid in await todo_ids(stack, handler)


async def test_given_an_extension_request_when_the_head_office_approves_instead_then_60_days(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    hq_manager = await user(stack, Role.org_manager, "hq")
    branch_manager = await user(stack, Role.org_manager, "branch")
    t = await register(stack)
    await ok(stack, handler, t["id"], "extend", 1, opinion="案情复杂")
    asked = await ok(stack, handler, t["id"], "extend", 2, opinion="需外部核实", customer_told=True)
    item = asked["work_items"][0]["id"]
    # the branch is neither the parent (中心支公司) nor the head office
    assert (await act(stack, branch_manager, t["id"], "approve", 3, work_item_id=item)).status_code == 403
    approved = await ok(stack, hq_manager, t["id"], "approve", 3, work_item_id=item, opinion="总公司同意")
    assert approved["decision_days"] == 60


async def test_given_an_extension_request_when_rejected_then_the_deadline_stays_at_30(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    central_manager = await user(stack, Role.org_manager, "central")
    t = await register(stack)
    await ok(stack, handler, t["id"], "extend", 1, opinion="案情复杂")
    asked = await ok(stack, handler, t["id"], "extend", 2, opinion="需外部核实", customer_told=True)
    item = asked["work_items"][0]["id"]
    assert (await act(stack, central_manager, t["id"], "reject", 3, work_item_id=item)).status_code == 422
    rejected = await ok(stack, central_manager, t["id"], "reject", 3, work_item_id=item, opinion="理由不充分")
    assert rejected["decision_days"] == 30
    assert [r["action"] for r in await timeline(stack, handler, t["id"])][-3:] == ["extend", "extend", "reject"]


async def test_given_an_external_appraisal_when_recorded_then_its_days_are_left_out_of_the_count(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    bad = {"appraisal_from": "2026-11-25", "appraisal_to": "2026-11-20", "customer_told": True}
    assert (await act(stack, handler, t["id"], "appraisal", 1, **bad)).status_code == 422
    untold = {"appraisal_from": "2026-11-25", "appraisal_to": "2026-12-04"}
    assert (await act(stack, handler, t["id"], "appraisal", 1, **untold)).status_code == 422
    done = await ok(stack, handler, t["id"], "appraisal", 1, **untold, customer_told=True)
    assert done["record"]["details"]["days"] == 10
    assert datetime.fromisoformat(done["decision_due_at"]) == day_end(t["received_at"], 25)
    c = await register(stack, "consultation")
    assert (await act(stack, handler, c["id"], "extend", 1, opinion="无时限")).status_code == 409


async def test_given_a_complaint_near_and_past_its_deadline_when_the_job_runs_twice_at_once_then_one_reminder_and_one_escalation(
        stack: Stack, clock: FrozenClock) -> None:
    central_manager = await user(stack, Role.org_manager, "central")
    sibling_manager = await user(stack, Role.org_manager, "sibling_outlet")
    received = (NOW - timedelta(days=14)).isoformat()
    t = await register(stack, received_at=received)
    tid = t["id"]
    after = await stack.ctx.bus.last_id("tickets") or FROM_START

    runs = await asyncio.gather(check_deadlines(stack.ctx), check_deadlines(stack.ctx))
    assert sum(r.reminded for r in runs) >= 1
    reminders = [r for r in await timeline(stack, central_manager, tid) if r["action"] == "remind"]
    assert [(r["step"], r["actor_user_id"]) for r in reminders] == [("decision", None)]
    ticket = (await stack.get(central_manager, f"/api/tickets/{tid}")).json()
    assert ticket["due_state"] == "due_soon"
    assert tid in {x["id"] for x in (await stack.get(central_manager, "/api/workflow/due-soon")).json()}
    assert tid not in {x["id"] for x in (await stack.get(sibling_manager, "/api/workflow/due-soon")).json()}

    clock.set(NOW + timedelta(days=2))  # past the 15th day: overdue, escalated to the outlet's parent
    await asyncio.gather(check_deadlines(stack.ctx), check_deadlines(stack.ctx))
    await check_deadlines(stack.ctx)  # and a later run (a restarted worker) finds nothing new to fire
    clock.set(NOW)
    records = await timeline(stack, central_manager, tid)
    assert [r["action"] for r in records if r["step"] == "decision"] == ["remind", "overdue"]
    [overdue] = [r for r in records if r["action"] == "overdue"]
    assert overdue["target_org_id"] == stack.orgs["central"].id
    ticket = (await stack.get(central_manager, f"/api/tickets/{tid}")).json()
    assert (ticket["due_state"], ticket["priority"]) == ("overdue", 1)
    assert tid in {x["id"] for x in (await stack.get(central_manager, "/api/workflow/supervised")).json()}
    kinds = [(n.kind, n.org_path) for n in await notices(stack, after, tid) if n.step is None]
    assert kinds == [("due_soon", stack.orgs["outlet"].path), ("overdue", stack.orgs["central"].path)]


async def test_given_a_step_past_its_own_deadline_when_the_job_runs_then_the_holders_superior_is_told(
        stack: Stack, clock: FrozenClock) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    clock.set(NOW - timedelta(days=6))  # the handle step has 5 days
    t = await register(stack)
    clock.set(NOW)
    after = await stack.ctx.bus.last_id("tickets") or FROM_START
    await check_deadlines(stack.ctx)
    steps = [r for r in await timeline(stack, handler, t["id"]) if r["step"] == "handle"]
    assert [r["action"] for r in steps] == ["overdue"]
    sent = [n for n in await notices(stack, after, t["id"]) if n.step == "handle"]
    assert [(n.kind, n.org_path) for n in sent] == [("overdue", stack.orgs["central"].path)]
    todo = [w for w in (await stack.get(handler, "/api/workflow/todo")).json() if w["ticket_id"] == t["id"]]
    assert todo[0]["due_state"] == "overdue" and todo[0]["priority"] == 1


async def test_given_a_superior_when_supervising_then_priority_rises_the_holder_is_told_and_outlets_cannot(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    outlet_manager = await user(stack, Role.org_manager, "outlet")
    branch_manager = await user(stack, Role.org_manager, "branch")
    agent = await user(stack, Role.agent, "outlet")
    t = await register(stack)
    after = await stack.ctx.bus.last_id("tickets") or FROM_START
    assert (await act(stack, branch_manager, t["id"], "supervise", 1)).status_code == 422
    assert (await act(stack, outlet_manager, t["id"], "supervise", 1, opinion="自己督办")).status_code == 403
    assert (await act(stack, handler, t["id"], "supervise", 1, opinion="无权")).status_code == 403
    done = await ok(stack, branch_manager, t["id"], "supervise", 1, opinion="请三日内办结")
    assert done["record"]["action"] == "supervise"
    supervised = (await stack.get(branch_manager, "/api/workflow/supervised")).json()
    assert [s["priority"] for s in supervised if s["id"] == t["id"]] == [1]
    sent = await notices(stack, after, t["id"])
    assert [(n.kind, n.org_path) for n in sent] == [("supervised", stack.orgs["outlet"].path)]
    # 催办 on the customer's behalf: recorded, the holder told
    urged = await ok(stack, agent, t["id"], "urge", 2, opinion="客户来电催促")
    assert urged["record"]["actor_org_id"] == stack.orgs["outlet"].id
    assert [n.kind for n in await notices(stack, after, t["id"])] == ["supervised", "urged"]
    todo = (await stack.get(handler, "/api/workflow/todo")).json()
    assert [w["priority"] for w in todo if w["ticket_id"] == t["id"]] == [1]


async def test_given_a_repeat_complaint_when_merged_then_it_closes_and_both_timelines_say_so(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    manager = await user(stack, Role.org_manager, "outlet")
    first, repeat = await register(stack), await register(stack)
    assert (await act(stack, handler, repeat["id"], "merge", 1, opinion="重复投诉")).status_code == 422
    assert (await act(stack, handler, repeat["id"], "merge", 1, opinion="重复投诉",
                      merge_into_ticket_id=repeat["id"])).status_code == 422
    merged = await ok(stack, handler, repeat["id"], "merge", 1, opinion="同一事项重复投诉",
                      merge_into_ticket_id=first["id"])
    assert merged["status"] == "closed" and merged["record"]["details"]["into_number"] == first["number"]
    got = (await stack.get(handler, f"/api/tickets/{repeat['id']}")).json()
    assert got["merged_into_id"] == first["id"] and got["closed_at"] is not None
    assert repeat["id"] not in await todo_ids(stack, handler)
    into = await timeline(stack, handler, first["id"])
    assert into[-1]["action"] == "merged" and into[-1]["details"]["from_number"] == repeat["number"]
    assert (await act(stack, handler, repeat["id"], "reopen", 2, opinion="重开")).status_code == 409
    # nothing merges into a closed ticket
    third = await register(stack)
    version = (await stack.get(handler, f"/api/tickets/{first['id']}")).json()["version"]
    await decide(stack, handler, manager, first["id"], version)
    assert (await act(stack, handler, third["id"], "merge", 1, opinion="重复",
                      merge_into_ticket_id=first["id"])).status_code == 409


async def test_given_a_withdrawal_when_received_earlier_then_the_clock_stops_that_day(stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack)
    await ok(stack, handler, t["id"], "withdraw", 1, opinion="客户撤诉", withdrawn_at="2026-11-22T16:30:00+08:00")
    got = (await stack.get(handler, f"/api/tickets/{t['id']}")).json()
    assert datetime.fromisoformat(got["closed_at"]) == datetime(2026, 11, 22, 16, 30, tzinfo=SHANGHAI)


async def test_given_a_countersign_item_when_its_unit_acts_otherwise_then_only_sign_is_allowed(stack: Stack) -> None:
    hq_handler = await user(stack, Role.complaint_handler, "hq")
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    other = await user(stack, Role.complaint_handler, "other_branch")
    t = await register(stack)
    await ok(stack, outlet_handler, t["id"], "transfer", 1, target_org_id=stack.orgs["hq"].id, opinion="上交")
    assert (await act(stack, hq_handler, t["id"], "countersign", 2, opinion="会签",
                      target_org_ids=[stack.orgs["hq"].id])).status_code == 422  # not one's own org
    await ok(stack, hq_handler, t["id"], "countersign", 2, opinion="会签", target_org_ids=[stack.orgs["other_branch"].id])
    assert (await act(stack, other, t["id"], "close", 3)).status_code == 409
    assert (await act(stack, other, t["id"], "sign", 3)).status_code == 422  # an opinion is required
    assert (await act(stack, hq_handler, t["id"], "transfer", 3, target_org_id=stack.orgs["branch"].id,
                      opinion="等待中")).status_code == 403  # the HQ item waits for the opinions


def test_given_a_countersign_mode_that_is_not_all_or_any_when_loading_then_the_error_names_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "p.yaml"
    bad.write_text("default:\n  handle:\n    label: x\n    days: 1\n    actions:\n      countersign: {mode: most}\n")
    with pytest.raises(ProcessError, match="mode of 'countersign' must be all or any"):
        load(bad)


def test_given_an_org_specific_process_when_choosing_then_the_nearest_org_of_the_line_wins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from backend.workflow.processes import choose

    f = tmp_path / "p.yaml"
    step = "    label: 处理\n    days: {d}\n    assignee: org\n    actions:\n      close: {{}}\n"
    f.write_text("default:\n  handle:\n" + step.format(d=5) + "complaint@BJ:\n  handle:\n" + step.format(d=3)
                 + "complaint@BJ_CY:\n  check:\n" + step.format(d=1))
    processes = load(f)
    assert choose("complaint", ["HQ", "BJ", "BJ_CY", "BJ_CY01"], processes) == "complaint@BJ_CY"
    assert choose("complaint", ["HQ", "BJ", "BJ_HD"], processes) == "complaint@BJ"
    assert choose("complaint", ["HQ", "SH"], processes) == "default"
    assert choose("consultation", ["HQ", "BJ"], processes) == "default"
    bad = tmp_path / "bad.yaml"
    bad.write_text("default:\n  handle:\n" + step.format(d=5) + "complaint@:\n  handle:\n" + step.format(d=3))
    with pytest.raises(ProcessError, match="<type>@<org code>"):
        load(bad)


async def test_given_uploads_when_registering_and_acting_then_they_belong_to_the_ticket_and_the_handling_record(
        stack: Stack) -> None:
    from tests.test_attachments import pdf, uploaded

    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    evidence = await uploaded(stack, agent, "保单.pdf", pdf())
    r = await stack.post(agent, "/api/tickets", json=body("complaint", attachment_ids=[evidence["id"]]))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    reply_letter = await uploaded(stack, handler, "复函.pdf", pdf())
    done = await ok(stack, handler, tid, "extend", 1, opinion="需调取录音", attachment_ids=[reply_letter["id"]])
    assert done["record"]["attachment_ids"] == [reply_letter["id"]]
    [record] = [x for x in await timeline(stack, handler, tid) if x["action"] == "extend"]
    assert record["attachment_ids"] == [reply_letter["id"]]
    files = (await stack.get(handler, f"/api/tickets/{tid}/attachments")).json()
    assert sorted(f["id"] for f in files) == sorted([evidence["id"], reply_letter["id"]])
    # someone else's upload cannot be attached: 4xx and nothing written
    other = await uploaded(stack, agent, "其他.pdf", pdf())
    r = await act(stack, handler, tid, "urge", 2, opinion="催办", attachment_ids=[other["id"]])
    assert r.status_code in (403, 409, 422) and len(await timeline(stack, handler, tid)) == 2


async def test_given_a_complaint_submitted_at_once_or_from_a_draft_then_its_org_is_told_after_commit(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    after = await stack.ctx.bus.last_id("tickets") or FROM_START
    t = await register(stack)
    assert [(n.kind, n.step, n.org_path, n.user_ids) for n in await notices(stack, after, t["id"])] == [
        ("assigned", "handle", stack.orgs["outlet"].path, ())]

    draft = await stack.post(agent, "/api/tickets", json={**body("complaint"), "submit": False})
    assert draft.status_code == 201, draft.text
    assert await notices(stack, after, draft.json()["id"]) == []  # a draft is nobody's work yet
    submitted = await stack.post(agent, f"/api/tickets/{draft.json()['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    [notice] = await notices(stack, after, draft.json()["id"])
    assert (notice.kind, notice.ticket_number) == ("assigned", submitted.json()["number"])
    assert notice.message == f"新工单 {notice.ticket_number} 待贵单位处理"
