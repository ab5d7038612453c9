"""Tickets: registration of every business type, drafts and versions, per-type validation, numbering under
concurrency, org scoping, PII masking and the risk warnings raised on submission.

Every test makes its own users and its own phone numbers, so tickets other tests left behind never count.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from backend.audit.models import AuditRecord
from backend.auth.permissions import Role
from backend.directory.identity import id_check_digit
from backend.orgs.scope import Scope
from backend.tickets.models import Ticket, TicketType
from backend.tickets.numbering import next_number
from tests.conftest import NOW, Stack

PREFIXES = {"complaint": "TS", "violation_report": "JB", "consultation": "ZX", "claim_report": "BA",
            "urging": "CB", "dispute": "YY", "petition": "XF", "suggestion": "JY"}
CLAIM = {"accident_at": "2026-11-23T08:30:00+08:00", "accident_place": "上海市浦东新区世纪大道 100 号",
         "accident_description": "追尾前车", "plate": "沪A12345", "injury": False, "police_called": True,
         "drivable": True, "reporter_name": "张三", "reporter_phone": "13800138000", "relation_to_insured": "本人"}
COMPLAINT = {"cause": "claims", "sub_cause": "claim_too_slow", "line_of_business": "motor",
             "respondent": {"staff_name": "李四", "sales_agent_code": "A001"}}
DETAILS: dict[str, dict[str, Any]] = {"claim_report": CLAIM, "complaint": COMPLAINT}


def phone() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


def id_number() -> str:
    first17 = "110101" + "1980" + f"{random.randint(1, 12):02d}" + f"{random.randint(1, 28):02d}" + \
        f"{random.randint(0, 999):03d}"
    return first17 + id_check_digit(first17)


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"tk_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


def body(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "subject": "客户反映理赔迟迟未到账", "caller_phone": phone(),
            "details": DETAILS.get(kind, {}), "submit": True, **fields}


async def patch(stack: Stack, username: str, url: str, **kw: Any) -> httpx.Response:
    return await stack.client.patch(url, headers=await stack.as_user(username), **kw)


async def ticket_count(stack: Stack) -> int:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)))


# --- registration


async def test_given_each_business_type_when_registered_then_201_with_its_prefix_and_deadline(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    for kind, prefix in PREFIXES.items():
        r = await stack.post(agent, "/api/tickets", json=body(kind))
        assert r.status_code == 201, (kind, r.text)
        t = r.json()
        assert re.fullmatch(rf"{prefix}-20261123-\d{{6}}", t["number"]), t["number"]
        assert (t["type"], t["status"], t["org_id"], t["version"]) == (kind, "open", stack.orgs["outlet"].id, 1)
        assert datetime.fromisoformat(t["received_at"]) == NOW
        due = t["decision_due_at"]
        if kind in ("complaint", "violation_report", "petition", "dispute"):
            # 17:00 in Shanghai on 11-23: 15 calendar days later, end of that day in Shanghai.
            assert datetime.fromisoformat(due) == datetime(2026, 12, 8, 15, 59, 59, tzinfo=UTC)
        else:
            assert due is None
    claim = (await stack.post(agent, "/api/tickets", json=body("claim_report"))).json()
    assert claim["details"]["plate"] == "沪A12345" and claim["details"]["accident_place"].startswith("上海")


async def test_given_an_unknown_caller_when_registered_without_a_contact_number_then_reached_on_the_calling_number(
        stack: Stack) -> None:
    handler = await user(stack, Role.complaint_handler, "outlet")  # reads numbers in clear
    caller, other = phone(), phone()
    r = await stack.post(handler, "/api/tickets", json=body("complaint", caller_phone=caller))
    assert r.status_code == 201, r.text
    assert (r.json()["caller_phone"], r.json()["complainant_phone"]) == (caller, caller)
    given = await stack.post(handler, "/api/tickets", json=body("complaint", caller_phone=caller,
                                                                  complainant_phone=other))
    assert given.json()["complainant_phone"] == other  # a number the agent was given wins


async def test_given_a_received_time_when_registered_then_the_deadline_counts_from_the_shanghai_day(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    # 23:30 UTC on 11-23 is already 11-24 in Shanghai.
    r = await stack.post(agent, "/api/tickets", json=body("complaint", received_at="2026-11-23T23:30:00Z"))
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["decision_due_at"]) == datetime(2026, 12, 9, 15, 59, 59, tzinfo=UTC)


# --- drafts and versions


async def test_given_a_draft_when_edited_with_its_version_and_submitted_then_open_with_submitted_at(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    r = await stack.post(agent, "/api/tickets", json=body("claim_report", submit=False,
                                                          details={"accident_place": "北京市海淀区"}))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["number"].startswith("BA-") and draft["submitted_at"] is None

    r = await patch(stack, agent, f"/api/tickets/{draft['id']}",
                    json={"version": draft["version"], "subject": "车辆追尾报案", "details": CLAIM})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["version"] == 2 and edited["subject"] == "车辆追尾报案"

    stale = await patch(stack, agent, f"/api/tickets/{draft['id']}", json={"version": 1, "subject": "旧版本"})
    assert stale.status_code == 409 and stale.json()["type"].endswith(":ticket-stale")
    assert stale.json()["current"]["version"] == 2 and stale.json()["current"]["subject"] == "车辆追尾报案"

    r = await stack.post(agent, f"/api/tickets/{draft['id']}/submit")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and datetime.fromisoformat(r.json()["submitted_at"]) == NOW
    again = await stack.post(agent, f"/api/tickets/{draft['id']}/submit")
    assert again.status_code == 409


async def test_given_two_editors_with_the_same_version_when_saving_at_once_then_one_wins_and_one_gets_409(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    await stack.token(agent)
    t = (await stack.post(agent, "/api/tickets", json=body("consultation", submit=False))).json()
    responses = await asyncio.gather(*(patch(stack, agent, f"/api/tickets/{t['id']}",
                                             json={"version": 1, "demand": f"修改{i}"}) for i in range(2)))
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert (await stack.get(agent, f"/api/tickets/{t['id']}")).json()["version"] == 2


async def test_given_an_incomplete_draft_when_submitted_then_422_naming_the_missing_field(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    draft = (await stack.post(agent, "/api/tickets", json=body("claim_report", submit=False, details={}))).json()
    r = await stack.post(agent, f"/api/tickets/{draft['id']}/submit")
    assert r.status_code == 422
    assert "details.accident_at" in {e["field"] for e in r.json()["errors"]}


async def test_given_an_open_ticket_when_edited_then_saved_and_when_closed_then_409(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    t = (await stack.post(agent, "/api/tickets", json=body("consultation"))).json()
    r = await patch(stack, agent, f"/api/tickets/{t['id']}", json={"version": 1, "demand": "请尽快回电"})
    assert r.status_code == 200 and r.json()["demand"] == "请尽快回电" and r.json()["status"] == "open"
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(Ticket).where(Ticket.id == t["id"]).values(status="closed"))
    r = await patch(stack, agent, f"/api/tickets/{t['id']}", json={"version": 2, "demand": "再改"})
    assert r.status_code == 409 and r.json()["type"].endswith(":ticket-closed")


# --- per-type validation


async def test_given_a_claim_report_without_accident_time_when_submitted_then_422_naming_the_field(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    details = {k: v for k, v in CLAIM.items() if k != "accident_at"}
    before = await ticket_count(stack)
    r = await stack.post(agent, "/api/tickets", json=body("claim_report", details=details))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["details.accident_at"]
    bad_plate = await stack.post(agent, "/api/tickets", json=body("claim_report", details={**CLAIM, "plate": "X1"}))
    assert bad_plate.status_code == 422 and bad_plate.json()["errors"][0]["field"] == "details.plate"
    assert await ticket_count(stack) == before


async def test_given_a_complaint_with_unknown_or_misplaced_codes_when_registered_then_422(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    before = await ticket_count(stack)
    unknown = await stack.post(agent, "/api/tickets", json=body("complaint", details={**COMPLAINT, "cause": "nope"}))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "details.cause"
    # 电销扰民 is a sub-cause of 营销扰民, not of 理赔纠纷.
    misplaced = await stack.post(agent, "/api/tickets", json=body(
        "complaint", details={**COMPLAINT, "sub_cause": "telesales_harassment"}))
    assert misplaced.status_code == 422 and misplaced.json()["errors"][0]["field"] == "details.sub_cause"
    channel = await stack.post(agent, "/api/tickets", json=body("complaint", channel="pigeon"))
    assert channel.status_code == 422
    assert await ticket_count(stack) == before


async def test_given_bad_input_when_registering_then_4xx_and_no_row_written(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    headers = {**await stack.as_user(agent), "Content-Type": "application/json"}
    before = await ticket_count(stack)
    malformed = await stack.client.post("/api/tickets", content=b'{"type": "complaint", "subject": ', headers=headers)
    assert malformed.status_code == 400
    unknown_field = await stack.post(agent, "/api/tickets", json={**body("consultation"), "priority": "high"})
    assert unknown_field.status_code == 422
    unknown_detail = await stack.post(agent, "/api/tickets", json=body("consultation", details={"x": 1}))
    assert unknown_detail.status_code == 422
    too_long = await stack.post(agent, "/api/tickets", json=body("consultation", subject="长" * 2001))
    assert too_long.status_code == 422
    bad_phone = await stack.post(agent, "/api/tickets", json=body("consultation", caller_phone="12"))
    assert bad_phone.status_code == 422
    assert await ticket_count(stack) == before


# --- numbering


async def test_given_30_concurrent_registrations_when_numbered_then_distinct_and_sequential(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    await stack.token(agent)
    responses = await asyncio.gather(*(stack.post(agent, "/api/tickets", json=body("urging")) for _ in range(30)))
    assert [r.status_code for r in responses] == [201] * 30, [r.text for r in responses if r.status_code != 201]
    numbers = [r.json()["number"] for r in responses]
    assert len(set(numbers)) == 30 and all(n.startswith("CB-20261123-") for n in numbers)
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(sequence[0], sequence[0] + 30))


async def test_given_a_new_shanghai_day_when_numbering_then_each_prefix_starts_again_at_one(stack: Stack) -> None:
    # A day no other test uses; 16:30 UTC is already the next day in Shanghai.
    day = datetime(2100, 1, 1, 16, 30, tzinfo=UTC) + timedelta(days=random.randint(0, 30000))
    label = (day + timedelta(hours=8)).strftime("%Y%m%d")
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        numbers = [await next_number(s, TicketType.suggestion, day), await next_number(s, TicketType.suggestion, day),
                   await next_number(s, TicketType.petition, day)]
    assert numbers == [f"JY-{label}-000001", f"JY-{label}-000002", f"XF-{label}-000001"]


# --- scoping and permissions


async def test_given_an_outlet_ticket_when_read_by_a_sibling_outlet_then_404_and_by_the_branch_then_visible(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    sibling = await user(stack, Role.agent, "sibling_outlet")
    manager = await user(stack, Role.org_manager, "branch")
    t = (await stack.post(agent, "/api/tickets", json=body("consultation"))).json()

    assert (await stack.get(sibling, f"/api/tickets/{t['id']}")).status_code == 404
    assert (await stack.get(sibling, f"/api/tickets/{10**12}")).status_code == 404
    assert (await stack.get(sibling, "/api/tickets", params={"number": t["number"]})).json() == []
    assert (await patch(stack, sibling, f"/api/tickets/{t['id']}", json={"version": 1})).status_code == 404

    assert (await stack.get(manager, f"/api/tickets/{t['id']}")).json()["number"] == t["number"]
    listed = await stack.get(manager, "/api/tickets", params={"number": t["number"]})
    assert [x["id"] for x in listed.json()] == [t["id"]]


async def test_given_roles_when_using_tickets_then_auditors_read_only_and_field_staff_nothing(stack: Stack) -> None:
    auditor = await user(stack, Role.auditor, "branch")
    field = await user(stack, Role.field_staff, "branch")
    campaign = await user(stack, Role.campaign_manager, "branch")
    assert (await stack.get(auditor, "/api/tickets")).status_code == 200
    assert (await stack.post(auditor, "/api/tickets", json=body("consultation"))).status_code == 403
    for username in (field, campaign):
        assert (await stack.get(username, "/api/tickets")).status_code == 403


async def test_given_filters_when_listing_then_only_matching_tickets_newest_first(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    caller = phone()
    older = (await stack.post(agent, "/api/tickets", json=body(
        "complaint", caller_phone=caller, received_at="2026-11-20T02:00:00Z"))).json()
    newer = (await stack.post(agent, "/api/tickets", json=body("consultation", caller_phone=caller))).json()
    draft = (await stack.post(agent, "/api/tickets", json=body("consultation", caller_phone=caller,
                                                               submit=False))).json()

    async def ids(**params: Any) -> list[int]:
        r = await stack.get(agent, "/api/tickets", params={"caller_phone": caller, **params})
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()]

    assert await ids() == [draft["id"], newer["id"], older["id"]]
    assert await ids(type="complaint") == [older["id"]]
    assert await ids(status="draft") == [draft["id"]]
    assert await ids(received_from="2026-11-21") == [draft["id"], newer["id"]]
    assert await ids(received_to="2026-11-20") == [older["id"]]
    assert await ids(due_before="2026-12-31T00:00:00Z") == [older["id"]]
    assert await ids(limit=1, offset=1) == [newer["id"]]
    assert (await stack.get(agent, "/api/tickets", params={"status": "lost"})).status_code == 422


# --- personal information


async def test_given_a_ticket_when_read_by_an_agent_then_masked_and_by_a_handler_then_clear_and_audited(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "branch")
    caller, idn = phone(), id_number()
    t = (await stack.post(agent, "/api/tickets", json=body("complaint", caller_phone=caller, complainant_name="王五",
                                                           complainant_id_number=idn))).json()
    assert t["caller_phone"] == caller[:3] + "****" + caller[-4:]
    assert t["complainant_id_number"] == idn[:6] + "*" * 8 + idn[-4:]

    clear = (await stack.get(handler, f"/api/tickets/{t['id']}")).json()
    assert (clear["caller_phone"], clear["complainant_id_number"]) == (caller, idn)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        audits = list(await s.scalars(select(AuditRecord).where(
            AuditRecord.action == "pii.view", AuditRecord.subject_type == "ticket",
            AuditRecord.subject_id == str(t["id"]))))
    # the complainant's phone defaulted to the calling number: shown, and audited, like the others
    assert audits and set(audits[-1].detail["subjects"][str(t["id"])]) == {"caller_phone", "complainant_phone",
                                                                            "complainant_id_number"}


async def test_given_a_claim_report_when_read_then_the_reporters_phone_inside_its_details_is_masked_too(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "branch")
    t = (await stack.post(agent, "/api/tickets", json=body("claim_report"))).json()
    assert t["details"]["reporter_phone"] == "138****8000" and t["details"]["plate"] == "沪A12345"
    clear = (await stack.get(handler, f"/api/tickets/{t['id']}")).json()
    assert clear["details"]["reporter_phone"] == "13800138000"
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        audits = list(await s.scalars(select(AuditRecord).where(
            AuditRecord.action == "pii.view", AuditRecord.subject_type == "ticket",
            AuditRecord.subject_id == str(t["id"]))))
    assert audits and "reporter_phone" in audits[-1].detail["subjects"][str(t["id"])]
    consultation = (await stack.post(agent, "/api/tickets", json=body("consultation"))).json()
    assert "reporter_phone" not in consultation["details"]


# --- risk warnings


async def test_given_a_caller_with_a_ticket_in_another_branch_when_registering_again_then_flagged_repeat(
        stack: Stack) -> None:
    elsewhere = await user(stack, Role.agent, "other_outlet")
    agent = await user(stack, Role.agent, "outlet")
    caller = phone()
    first = (await stack.post(elsewhere, "/api/tickets", json=body(
        "complaint", caller_phone=caller, received_at=(NOW - timedelta(days=20)).isoformat()))).json()
    assert first["risk_flags"] == []
    second = (await stack.post(agent, "/api/tickets", json=body("complaint", caller_phone=caller))).json()
    assert second["risk_flags"] == ["repeat"]
    # The flag says only "yes": the other branch's ticket stays out of sight.
    assert (await stack.get(agent, f"/api/tickets/{first['id']}")).status_code == 404

    stranger = (await stack.post(agent, "/api/tickets", json=body("complaint"))).json()
    assert stranger["risk_flags"] == []


async def test_given_an_old_ticket_or_a_violation_report_when_registering_then_flags_follow_the_history(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    idn = id_number()
    await stack.post(agent, "/api/tickets", json=body(
        "violation_report", complainant_id_number=idn, received_at=(NOW - timedelta(days=90)).isoformat()))
    t = (await stack.post(agent, "/api/tickets", json=body("complaint", complainant_id_number=idn))).json()
    assert t["risk_flags"] == ["prior_violation_report"]
    # a complaint long ago (outside the 30-day repeat window) is history worth a flag too
    old = phone()
    await stack.post(agent, "/api/tickets", json=body("complaint", caller_phone=old,
                                                      received_at=(NOW - timedelta(days=200)).isoformat()))
    again = (await stack.post(agent, "/api/tickets", json=body("complaint", caller_phone=old))).json()
    assert again["risk_flags"] == ["prior_complaint"]


async def test_given_risk_words_or_agency_surrender_when_registering_then_flagged(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    words = (await stack.post(agent, "/api/tickets", json=body(
        "complaint", subject="再不处理就找媒体曝光", demand="全额赔付"))).json()
    assert words["risk_flags"] == ["risk_words"]
    surrender = (await stack.post(agent, "/api/tickets", json=body(
        "complaint", subject="有人联系我说可以代办退保拿回全部保费"))).json()
    assert surrender["risk_flags"] == ["agency_surrender"]
    draft = (await stack.post(agent, "/api/tickets", json=body("complaint", subject="我要起诉", submit=False))).json()
    assert draft["risk_flags"] == []
    submitted = (await stack.post(agent, f"/api/tickets/{draft['id']}/submit")).json()
    assert submitted["risk_flags"] == ["risk_words"]


# --- code tables


async def test_given_the_seeded_code_tables_when_read_then_causes_with_their_sub_causes_in_order(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    r = await stack.get(agent, "/api/codes/complaint_cause")
    assert r.status_code == 200
    items = r.json()
    causes = [i["label"] for i in items if i["parent_code"] is None]
    assert causes == ["销售纠纷", "承保纠纷", "保全纠纷", "理赔纠纷", "退保纠纷", "续期/续保纠纷", "服务质量", "营销扰民",
                      "个人信息", "涉嫌违法违规"]
    under_claims = {i["label"] for i in items if i["parent_code"] == "claims"}
    assert under_claims == {"保险责任认定争议", "定损价格争议", "理赔时效过长", "理赔程序繁琐", "理赔材料不合理"}
    assert len([i for i in items if i["parent_code"]]) == 15
    for table, count in (("line_of_business", 11), ("channel", 8), ("business_type", 8), ("risk_word", 8)):
        assert len((await stack.get(agent, f"/api/codes/{table}")).json()) == count, table
    assert (await stack.get(agent, "/api/codes/nope")).status_code == 404
    assert (await stack.client.get("/api/codes/channel")).status_code == 401
