"""Search: jieba full text over 事由/诉求/经过, field filters and date ranges, keyset pages, handling-record search,
XLSX exports of lists, and the org scope in all of them. Each test tags its tickets with its own policy number
(or a unique word) so tickets that other tests left behind never count.
"""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import delete, select

from backend.audit.models import AuditRecord
from backend.auth.permissions import Role
from backend.directory.identity import id_check_digit
from backend.migrations import upgrade_async
from backend.orgs.scope import Scope
from backend.search import export
from backend.search.export import cell_value
from backend.search.fulltext import fts5_query
from backend.search.indexer import reindex
from backend.search.keyset import Order
from backend.search.models import TicketText
from backend.tickets.models import Ticket
from tests.conftest import NOW, Stack
from tests.test_tickets import body, phone

SLOW = "理赔时效过长，要求尽快赔付"


def id_number_ending_in_x() -> str:
    """A valid ID number whose check digit is X (tests lower-case input and masking)."""
    return next(f + "X" for seq in range(1000) if id_check_digit(f := f"11010119800101{seq:03d}") == "X")


def tag() -> str:
    return "SP" + uuid.uuid4().hex[:12].upper()


async def user(stack: Stack, role: Role, org: str) -> str:
    return await stack.add_user(f"se_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def register(stack: Stack, who: str, kind: str = "complaint", **fields: Any) -> dict[str, Any]:
    r = await stack.post(who, "/api/tickets", json=body(kind, **fields))
    assert r.status_code == 201, r.text
    return r.json()


async def search(stack: Stack, who: str, **params: Any) -> dict[str, Any]:
    r = await stack.get(who, "/api/tickets/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def numbers(stack: Stack, who: str, **params: Any) -> list[str]:
    return [t["number"] for t in (await search(stack, who, **params))["items"]]


async def every_page(stack: Stack, who: str, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await stack.get(who, url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        assert page["has_more"] == (page["next_cursor"] is not None)
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]


def workbook(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == export.XLSX
    assert r.headers["content-disposition"].startswith("attachment;") and "filename*=UTF-8''%E" in \
        r.headers["content-disposition"]  # a Chinese file name
    return list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))


async def audit_trail(stack: Stack, username: str) -> list[tuple[str, dict[str, Any]]]:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        rows = await s.execute(select(AuditRecord.action, AuditRecord.detail).where(AuditRecord.username == username)
                               .order_by(AuditRecord.id))
        return [(action, detail) for action, detail in rows.all()]


# --- full text


async def test_given_a_complaint_about_slow_claims_when_searching_its_words_then_found_and_other_words_not(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    slow = await register(stack, agent, subject=SLOW, demand="要求退还保费", policy_number=p)
    other = await register(stack, agent, subject="销售人员未说明退保损失", policy_number=p)
    claim = await register(stack, agent, "claim_report", subject="车辆出险报案", policy_number=p,
                           details={"accident_at": "2026-11-23T08:30:00+08:00", "accident_place": "上海市浦东新区",
                                    "accident_description": "雨天追尾前车"})

    assert await numbers(stack, agent, q="理赔 时效", policy_number=p) == [slow["number"]]
    assert await numbers(stack, agent, q="理赔时效", policy_number=p) == [slow["number"]]
    assert await numbers(stack, agent, q="退还保费", policy_number=p) == [slow["number"]]  # 诉求
    assert await numbers(stack, agent, q="退保", policy_number=p) == [other["number"]]
    assert await numbers(stack, agent, q="追尾", policy_number=p) == [claim["number"]]  # 出险经过
    assert await numbers(stack, agent, q="理赔 退保", policy_number=p) == []  # every word must match
    # Punctuation alone has no word to look for: it does not filter.
    assert len(await numbers(stack, agent, q="，。！", policy_number=p)) == 3


async def test_given_a_unique_word_when_searching_without_other_filters_then_only_that_ticket(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    word = "zq" + uuid.uuid4().hex[:10]
    t = await register(stack, agent, subject=f"客户投诉{word}理赔时效过长 or")
    await register(stack, agent, subject="要求退保")
    assert await numbers(stack, agent, q=f"{word.upper()} 理赔") == [t["number"]]  # case-insensitive
    # Query syntax is only words: "OR" must be in the text like any other word, and quotes are punctuation.
    assert await numbers(stack, agent, q=f'"{word}" OR*') == [t["number"]]
    assert await numbers(stack, agent, q=f"{word} OR 退保") == []


async def test_given_an_edited_subject_when_searching_then_the_new_words_match_and_the_old_do_not(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    t = await register(stack, agent, subject=SLOW, policy_number=p)
    r = await stack.client.patch(f"/api/tickets/{t['id']}", headers=await stack.as_user(agent),
                                 json={"version": t["version"], "subject": "营销电话扰民，要求停止来电"})
    assert r.status_code == 200, r.text
    assert await numbers(stack, agent, q="理赔", policy_number=p) == []
    assert await numbers(stack, agent, q="扰民", policy_number=p) == [t["number"]]


async def test_given_lost_text_rows_when_reindexed_then_searchable_again(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    first = await register(stack, agent, subject=SLOW, policy_number=p)
    second = await register(stack, agent, subject="保全变更办理缓慢", policy_number=p)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(delete(TicketText).where(TicketText.ticket_id.in_([first["id"], second["id"]])))
    assert await numbers(stack, agent, q="理赔", policy_number=p) == []

    assert await reindex(stack.ctx.db, batch_size=1, after_id=first["id"] - 1) >= 2
    assert await numbers(stack, agent, q="理赔", policy_number=p) == [first["number"]]
    assert await numbers(stack, agent, q="保全", policy_number=p) == [second["number"]]


# --- filters


async def test_given_tickets_on_several_days_when_filtering_by_dates_and_fields_then_exactly_the_matches(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    # 23:30 UTC on 11-20 is already 11-21 in Beijing.
    caller = phone()
    on_20 = await register(stack, agent, received_at="2026-11-20T10:00:00+08:00", policy_number=p,
                           caller_phone=caller)
    on_21 = await register(stack, agent, received_at="2026-11-20T23:30:00Z", policy_number=p, channel="letter")
    on_22 = await register(stack, agent, "consultation", received_at="2026-11-22T09:00:00+08:00", policy_number=p)
    draft = await register(stack, agent, received_at="2026-11-22T10:00:00+08:00", policy_number=p, submit=False,
                           details={"cause": "sales"})

    assert set(await numbers(stack, agent, policy_number=p, received_from="2026-11-21", received_to="2026-11-22")) \
        == {on_21["number"], on_22["number"], draft["number"]}
    assert await numbers(stack, agent, policy_number=p, received_to="2026-11-20") == [on_20["number"]]
    assert await numbers(stack, agent, policy_number=p, channel="letter") == [on_21["number"]]
    assert await numbers(stack, agent, policy_number=p, type="consultation") == [on_22["number"]]
    assert await numbers(stack, agent, policy_number=p, status="draft") == [draft["number"]]
    assert await numbers(stack, agent, policy_number=p, cause="sales") == [draft["number"]]
    assert set(await numbers(stack, agent, policy_number=p, cause="claims", sub_cause="claim_too_slow",
                             line_of_business="motor")) == {on_20["number"], on_21["number"]}
    # 15 days from 11-20 ends on 12-05 (Beijing); from 11-21, on 12-06.
    assert await numbers(stack, agent, policy_number=p, due_from="2026-12-06", due_to="2026-12-06") \
        == [on_21["number"]]
    assert await numbers(stack, agent, policy_number=p, caller_phone=caller) == [on_20["number"]]
    assert await numbers(stack, agent, policy_number=p, number=on_22["number"]) == [on_22["number"]]
    assert await numbers(stack, agent, policy_number=p, status="open", type="complaint", received_from="2026-11-21") \
        == [on_21["number"]]
    assert await numbers(stack, agent, policy_number=p, due_state="normal", priority=0, supervised="false",
                         received_to="2026-11-20") == [on_20["number"]]
    assert await numbers(stack, agent, policy_number=p, supervised="true") == []


async def test_given_identity_filters_when_searching_then_exact_matches_on_normalised_values(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    id_number = id_number_ending_in_x()
    t = await register(stack, agent, policy_number=p, complainant_phone="13912345678",
                       complainant_id_number=id_number)
    await register(stack, agent, policy_number=p)
    assert await numbers(stack, agent, policy_number=p, complainant_phone="+86 139 1234 5678") == [t["number"]]
    assert await numbers(stack, agent, policy_number=p, id_number=id_number.lower()) == [t["number"]]
    assert await numbers(stack, agent, policy_number=p, created_by=t["created_by"], org_id=stack.orgs["outlet"].id) \
        == (await numbers(stack, agent, policy_number=p))


# --- keyset pages


@pytest.mark.parametrize("sort", ["received_desc", "received_asc", "due_asc"])
async def test_given_more_tickets_than_a_page_when_following_cursors_then_each_once_in_order(
        stack: Stack, sort: str) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    made = []
    for i, kind in enumerate(["complaint", "consultation", "complaint", "suggestion", "complaint", "petition",
                              "consultation"]):
        at = (NOW - timedelta(days=i % 3)).isoformat()  # ties on the sort value: the id decides
        made.append(await register(stack, agent, kind, received_at=at, policy_number=p))
    items = await every_page(stack, agent, "/api/tickets/search", policy_number=p, sort=sort, limit=2)
    assert sorted(t["id"] for t in items) == sorted(t["id"] for t in made)

    def key(t: dict[str, Any]) -> tuple[Any, ...]:
        if sort == "due_asc":  # no deadline: last
            return (t["decision_due_at"] is None, t["decision_due_at"] or "", t["id"])
        return (datetime.fromisoformat(t["received_at"]), t["id"])

    assert items == sorted(items, key=key, reverse=sort == "received_desc")


async def test_given_a_cursor_when_a_ticket_is_registered_meanwhile_then_pages_neither_repeat_nor_skip(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    old = [await register(stack, agent, received_at=(NOW - timedelta(hours=h)).isoformat(), policy_number=p)
           for h in (1, 2, 3)]
    first = await search(stack, agent, policy_number=p, limit=2)
    await register(stack, agent, policy_number=p)  # newest: belongs before the cursor
    rest = await search(stack, agent, policy_number=p, limit=2, cursor=first["next_cursor"])
    assert [t["id"] for t in first["items"] + rest["items"]] == [t["id"] for t in old]
    assert rest["has_more"] is False and rest["next_cursor"] is None


# --- scope


async def test_given_outlets_and_a_branch_when_searching_and_exporting_then_each_sees_only_its_subtree(
        stack: Stack) -> None:
    p = tag()
    mine = await register(stack, await user(stack, Role.agent, "outlet"), subject=SLOW, policy_number=p)
    sibling = await register(stack, await user(stack, Role.agent, "sibling_outlet"), subject=SLOW, policy_number=p)
    elsewhere = await register(stack, await user(stack, Role.agent, "other_outlet"), subject=SLOW, policy_number=p)
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    branch_manager = await user(stack, Role.org_manager, "branch")

    for q in ({}, {"q": "理赔 时效"}, {"org_id": stack.orgs["outlet"].id}):
        assert await numbers(stack, outlet_handler, policy_number=p, **q) == [mine["number"]]
    assert set(await numbers(stack, branch_manager, policy_number=p, q="理赔")) == {mine["number"], sibling["number"]}
    assert set(await numbers(stack, branch_manager, policy_number=p, org_id=stack.orgs["central"].id, subtree="true")) \
        == {mine["number"], sibling["number"]}
    assert await numbers(stack, branch_manager, policy_number=p, org_id=stack.orgs["central"].id) == []
    assert (await stack.get(outlet_handler, f"/api/tickets/{sibling['id']}")).status_code == 404
    assert (await stack.get(branch_manager, f"/api/tickets/{elsewhere['id']}")).status_code == 404

    rows = workbook(await stack.get(outlet_handler, "/api/tickets/search.xlsx", params={"policy_number": p}))
    assert [r[0] for r in rows[1:]] == [mine["number"]]
    rows = workbook(await stack.get(branch_manager, "/api/tickets/search.xlsx", params={"policy_number": p}))
    assert {r[0] for r in rows[1:]} == {mine["number"], sibling["number"]}

    for who, org in ((outlet_handler, "sibling_outlet"), (branch_manager, "other_branch")):
        for url in ("/api/tickets/search", "/api/handling-records/search"):
            r = await stack.get(who, url, params={"org_id": stack.orgs[org].id})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "org_id", r.text


async def test_given_records_on_tickets_when_searching_records_then_seen_with_the_ticket_wherever_the_actor_sits(
        stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    outlet_handler = await user(stack, Role.complaint_handler, "outlet")
    sibling_handler = await user(stack, Role.complaint_handler, "sibling_outlet")
    branch_handler = await user(stack, Role.complaint_handler, "branch")
    t = await register(stack, agent)
    moved = await stack.post(outlet_handler, f"/api/tickets/{t['id']}/actions",
                             json={"action": "transfer", "version": 1, "target_org_id": stack.orgs["branch"].id,
                                   "opinion": "需分公司协调"})
    assert moved.status_code == 200, moved.text
    back = await stack.post(branch_handler, f"/api/tickets/{t['id']}/actions",
                            json={"action": "return", "version": 2, "opinion": "请网点补充材料"})
    assert back.status_code == 200, back.text

    def steps(page: list[dict[str, Any]]) -> list[tuple[str, int]]:
        return [(r["action"], r["actor_org_id"]) for r in page]

    outlet, branch = stack.orgs["outlet"].id, stack.orgs["branch"].id
    expected = [("return", branch), ("transfer", outlet), ("submit", outlet)]
    for who in (outlet_handler, branch_handler):  # the branch's return is on the outlet's ticket: both see it
        assert steps(await every_page(stack, who, "/api/handling-records/search", ticket_number=t["number"],
                                      limit=1)) == expected
    assert await every_page(stack, sibling_handler, "/api/handling-records/search", ticket_number=t["number"]) == []

    returned = {"ticket_number": t["number"], "action": "return",
                "actor_user_id": back.json()["record"]["actor_user_id"]}
    assert steps(await every_page(stack, branch_handler, "/api/handling-records/search", **returned,
                                  org_id=branch)) == [("return", branch)]
    # The return was made at the branch, not at the outlet.
    assert await every_page(stack, outlet_handler, "/api/handling-records/search", **returned, org_id=outlet) == []
    found = await every_page(stack, branch_handler, "/api/handling-records/search", ticket_number=t["number"],
                             org_id=stack.orgs["central"].id, subtree="true", acted_from="2026-11-23",
                             acted_to="2026-11-23")
    assert steps(found) == [("transfer", outlet), ("submit", outlet)]
    assert found[0]["ticket_number"] == t["number"] and found[0]["opinion"] == "需分公司协调"
    assert await every_page(stack, branch_handler, "/api/handling-records/search", ticket_number=t["number"],
                            acted_from="2026-11-24") == []

    rows = workbook(await stack.get(outlet_handler, "/api/handling-records/search.xlsx",
                                    params={"ticket_number": t["number"]}))
    assert rows[0][:4] == ("工单编号", "环节", "处理方式", "办理单位")
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [(t["number"], "退回", stack.orgs["branch"].name),
                                                      (t["number"], "转办", stack.orgs["outlet"].name),
                                                      (t["number"], "提交", stack.orgs["outlet"].name)]
    rows = workbook(await stack.get(sibling_handler, "/api/handling-records/search.xlsx",
                                    params={"ticket_number": t["number"]}))
    assert rows[1:] == []


# --- exports


async def test_given_tickets_when_exported_then_headers_rows_and_pii_as_in_the_json_view(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    p = tag()
    caller = phone()
    t = await register(stack, agent, subject="=HYPERLINK(\"http://x\")理赔\x07慢", policy_number=p, caller_phone=caller,
                       complainant_name="王五", complainant_id_number=(id_number := id_number_ending_in_x()))
    await register(stack, agent, policy_number=p, received_at=(NOW - timedelta(days=1)).isoformat())

    rows = workbook(await stack.get(agent, "/api/tickets/search.xlsx", params={"policy_number": p}))
    header = rows[0]
    for name in ("工单编号", "业务类型", "状态", "事由", "来电号码", "证件号码", "受理时间", "处理时限"):
        assert name in header
    assert len(rows) == 3
    first = dict(zip(header, rows[1], strict=True))
    masked = (await search(stack, agent, policy_number=p))["items"][0]
    assert first["工单编号"] == t["number"] and first["业务类型"] == "消费投诉" and first["状态"] == "办理中"
    assert first["来电号码"] == masked["caller_phone"] == caller[:3] + "****" + caller[-4:]
    assert first["证件号码"] == "110101********" + id_number[-4:]
    assert first["事由"] == "=HYPERLINK(\"http://x\")理赔慢"  # text, not a formula; control character dropped
    assert first["受理时间"] == datetime(2026, 11, 23, 17, 0)  # Beijing time
    assert first["投诉事由"] == "理赔纠纷"

    before = len(await audit_trail(stack, handler))
    rows = workbook(await stack.get(handler, "/api/tickets/search.xlsx",
                                    params={"policy_number": p, "caller_phone": caller}))
    clear = dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2 and clear["来电号码"] == caller and clear["证件号码"] == id_number
    trail = dict((await audit_trail(stack, handler))[before:])
    assert trail["pii.view"]["subjects"] == {str(t["id"]): ["caller_phone", "complainant_id_number",
                                                            "complainant_phone"]}  # defaulted to the caller's
    assert trail["export.xlsx"] == {"list": "ticket", "rows": 1, "pii_in_clear": True,
                                    "filters": {"policy_number": p, "caller_phone": masked["caller_phone"],
                                                "subtree": False, "sort": "received_desc"}}


async def test_given_more_matches_than_the_cap_when_exporting_then_422(stack: Stack,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    for _ in range(3):
        await register(stack, agent, policy_number=p)
    monkeypatch.setattr(export, "MAX_ROWS", 2)
    r = await stack.get(agent, "/api/tickets/search.xlsx", params={"policy_number": p})
    assert r.status_code == 422 and r.json()["type"].endswith(":export-too-large") and "2" in r.json()["detail"]
    monkeypatch.setattr(export, "MAX_ROWS", 3)
    assert len(workbook(await stack.get(agent, "/api/tickets/search.xlsx", params={"policy_number": p}))) == 4


async def test_given_work_in_my_lists_when_exported_then_todo_and_done_sheets(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    handler = await user(stack, Role.complaint_handler, "outlet")
    t = await register(stack, agent)
    todo = workbook(await stack.get(handler, "/api/workflow/todo.xlsx"))
    assert todo[0] == ("工单编号", "业务类型", "事由", "环节", "办理单位", "接收时间", "办理时限")
    mine = [r for r in todo[1:] if r[0] == t["number"]]
    assert mine and mine[0][1] == "消费投诉" and mine[0][4] == stack.orgs["outlet"].name

    r = await stack.post(handler, f"/api/tickets/{t['id']}/actions",
                         json={"action": "transfer", "version": 1, "target_org_id": stack.orgs["branch"].id})
    assert r.status_code == 200, r.text
    done = workbook(await stack.get(handler, "/api/workflow/done.xlsx"))
    assert done[0] == ("工单编号", "最近操作", "办理时间") and done[1:] == [(t["number"], "转办", datetime(2026, 11, 23, 17))]
    assert workbook(await stack.get(agent, "/api/workflow/done.xlsx"))[1:] == []  # submitting is not 已办


# --- bad input


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 201}, {"cursor": "not-a-cursor"}, {"received_from": "2026-11-23", "received_to": "2026-11-22"},
    {"received_from": "2026-13-01"}, {"type": "nonsense"}, {"caller_phone": "12"}, {"id_number": "110101198001010021"},
    {"number": "TS\x00"}, {"org_id": 999_999_999}, {"customer_id": 2**70}, {"unknown": "1"}, {"sort": "subject"},
    {"priority": 10_000}, {"due_state": "late"},
])
async def test_given_bad_parameters_when_searching_tickets_then_422_naming_the_field(stack: Stack,
                                                                                    params: dict[str, Any]) -> None:
    agent = await user(stack, Role.agent, "outlet")
    # An export is the whole list: it ignores the cursor.
    for url in ("/api/tickets/search", *(() if "cursor" in params else ("/api/tickets/search.xlsx",))):
        r = await stack.get(agent, url, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json") and r.json()["errors"]


async def test_given_a_cursor_of_another_sort_or_list_when_used_then_422(stack: Stack) -> None:
    agent = await user(stack, Role.agent, "outlet")
    p = tag()
    for _ in range(2):
        await register(stack, agent, policy_number=p)
    cursor = (await search(stack, agent, policy_number=p, limit=1))["next_cursor"]
    assert cursor
    r = await stack.get(agent, "/api/tickets/search", params={"cursor": cursor, "sort": "due_asc"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = await stack.get(agent, "/api/handling-records/search", params={"cursor": cursor})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    assert (await stack.get(agent, "/api/handling-records/search", params={"action": "dance"})).status_code == 422


async def test_given_a_role_without_ticket_read_when_searching_then_403(stack: Stack) -> None:
    surveyor = await user(stack, Role.field_staff, "outlet")
    for url in ("/api/tickets/search", "/api/handling-records/search", "/api/tickets/search.xlsx",
                "/api/workflow/todo.xlsx"):
        assert (await stack.get(surveyor, url)).status_code == 403


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
PARAMS = st.dictionaries(st.sampled_from(["q", "number", "channel", "cause", "caller_phone", "id_number", "org_id",
                                          "received_from", "due_to", "priority", "supervised", "limit", "cursor",
                                          "sort", "subtree"]), ANY_TEXT, max_size=4)


@FUZZ
@given(q=ANY_TEXT | st.sampled_from(['"', "NEAR(a b)", "a OR b", "* AND -", "理赔 & | ! :*", "^x", "(", "\\'"]),
       params=PARAMS)
async def test_given_any_query_when_searching_then_results_or_a_clean_422(stack: Stack, q: str,
                                                                          params: dict[str, str]) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    for url in ("/api/tickets/search", "/api/handling-records/search"):
        r = await stack.get(agent, url, params={**params, "q": q} if url.startswith("/api/tickets") else params)
        assert r.status_code in (200, 422), (r.status_code, r.text[:300])
        if r.status_code == 422:
            assert r.headers["content-type"].startswith("application/problem+json") and r.json()["detail"]
    r = await stack.get(agent, "/api/tickets/search", params={"q": q})
    assert r.status_code == 200, r.text[:300]


# --- units


def test_given_words_with_quotes_when_made_an_fts5_query_then_each_is_one_quoted_string() -> None:
    assert fts5_query(["理赔", "a\"b", "OR"]) == '"理赔" "a""b" "OR"'


def test_given_a_cursor_when_decoded_by_its_order_then_the_same_position() -> None:
    order = Order("received_desc", Ticket.received_at, Ticket.id, descending=True)
    at = datetime(2026, 11, 23, 1, 2, 3, 456, tzinfo=UTC)
    assert order.decode(order.cursor(at, 42)) == (at, 42)
    nullable = Order("due_asc", Ticket.decision_due_at, Ticket.id, nullable=True)
    assert nullable.decode(nullable.cursor(None, 7)) == (None, 7)


def test_given_values_when_written_to_a_cell_then_as_users_read_them() -> None:
    assert cell_value(datetime(2026, 11, 23, 16, 30, 1, 999, tzinfo=UTC)) == (datetime(2026, 11, 24, 0, 30, 1),
                                                                             export.DATETIME_FORMAT)
    assert cell_value(True) == ("是", None) and cell_value(None) == (None, None)
    assert cell_value(["a", "b"]) == ("a、b", None) and cell_value("a\x00b\x1f") == ("ab", None)


async def test_given_tickets_from_before_search_when_migrated_then_their_words_are_indexed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "old.db"
    await upgrade_async(f"sqlite+aiosqlite:///{path}", "0008")
    with sqlite3.connect(path) as c:
        c.execute("INSERT INTO orgs (id, code, name, level, path, active) VALUES (1, 'HQ', '总公司', 'head_office', "
                  "'/1/', 1)")
        c.execute("INSERT INTO tickets (id, org_id, number, type, status, channel, subject, received_at, details, "
                  "risk_flags, created_at, updated_at, version) VALUES (7, 1, 'BA-20261123-000001', 'claim_report', "
                  "'open', 'hotline', '车辆报案', '2026-11-23 01:00:00.000000', ?, '[]', "
                  "'2026-11-23 01:00:00.000000', '2026-11-23 01:00:00.000000', 1)",
                  (json.dumps({"accident_description": "雨天追尾前车"}),))
        c.execute("INSERT INTO handling_records (ticket_id, step, action, received_at, acted_at, details, org_id) "
                  "VALUES (7, 'register', 'submit', '2026-11-23 01:00:00', '2026-11-23 01:00:00', '{}', 1)")
    await upgrade_async(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as c:
        found = c.execute("SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ?", (fts5_query(["追尾", "报案"]),))
        assert found.fetchall() == [(7,)]
        # Later revisions rebuild ``tickets`` (SQLite batch mode): rows referencing it are kept.
        assert c.execute("SELECT count(*) FROM handling_records").fetchone() == (1,)
