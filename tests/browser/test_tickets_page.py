"""工单处理 (/tickets) in headless Chromium: a complaint in the outlet handler's 待办, opened from the keyboard,
transferred up with an opinion (the superior's list follows live over the websocket), proposed there and
offered for 审批 to the manager; a stale version refreshed; a hostile subject shown as text; a sibling outlet
refused.

Tickets are registered over HTTP by the outlet's agent, as the console would; each test makes its own, with
a unique subject, because the live app (and its lists) is shared by the whole session.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from backend.auth.passwords import hash_password
from backend.auth.permissions import Role
from backend.auth.services import create_user
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from tests.browser.conftest import LiveApp, Screenshots, new_context, open_tab

AGENT = "agent_bj_cy01"  # 坐席, 朝阳中心支公司望京营业部
HANDLER = "complaint_handler_bj_cy01"  # 投诉处理员 of the same outlet: a complaint registered there is theirs
PARENT_HANDLER = "complaint_handler_bj_cy"  # 投诉处理员 of 朝阳中心支公司, the outlet's parent
PARENT_MANAGER = "org_manager_bj_cy"  # 机构负责人 there: approves proposed decisions
PARENT_ORG = "朝阳中心支公司"
SIBLING_ORG = "国贸营业部"  # another outlet under the same parent
COMPLAINT = {"cause": "claims", "sub_cause": "claim_too_slow", "line_of_business": "motor"}


async def _token(live_app: LiveApp, username: str) -> str:
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        r = await client.post("/api/auth/login", json={"username": username, "password": live_app.password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@pytest.fixture
async def as_user(live_app: LiveApp) -> AsyncIterator[Any]:
    """``await as_user(name)``: an HTTP client of the live app signed in as ``name``."""
    clients: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=live_app.url,
                                   headers={"Authorization": f"Bearer {await _token(live_app, username)}"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _register(client: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    phone = "139" + "".join(random.choices("0123456789", k=8))
    r = await client.post("/api/tickets", json={"type": "complaint", "subject": subject, "demand": "尽快赔付",
                                                 "caller_phone": phone, "complainant_name": "王女士",
                                                 "details": COMPLAINT, "submit": True})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _org(live_app: LiveApp, name: str) -> Org:
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        parent = await session.scalar(select(Org).where(Org.name == PARENT_ORG))
        assert parent is not None
        if name == PARENT_ORG:
            return parent
        org = await session.scalar(select(Org).where(Org.name.endswith(name), Org.parent_id == parent.id))
    assert org is not None, name
    return org


async def _log_in(page: Page, live_app: LiveApp, username: str) -> None:
    r = await page.request.post("/api/auth/login", data={"username": username, "password": live_app.password})
    assert r.ok, await r.text()


def _row(page: Page, ticket_id: int) -> Any:
    return page.locator(f'#ticket-list a.ticket-row[data-ticket-id="{ticket_id}"]')


async def _open_with_enter(page: Page, ticket_id: int, number: str) -> None:
    row = _row(page, ticket_id)
    await row.focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"[?&]id={ticket_id}\b"))
    await expect(page.locator("#detail-heading")).to_have_text(f"工单 {number}")
    await expect(page.locator("#detail-heading")).to_be_focused()
    await expect(row).to_have_attribute("aria-current", "true")


async def _act(page: Page, action: str, opinion: str, *, target_org: int | None = None) -> None:
    await page.locator(f'#action-buttons button[data-action="{action}"]').click()
    form = page.locator("#action-form")
    await expect(form).to_be_visible()
    if target_org is not None:
        await form.locator('select[name="target_org_id"]').select_option(str(target_org))
    await form.locator('textarea[name="opinion"]').fill(opinion)
    await form.locator("#action-submit").click()


async def test_given_an_outlet_complaint_when_the_handler_works_it_then_transfer_propose_and_approval_follow(
        page: Page, browser: Browser, live_app: LiveApp, shots: Screenshots, as_user: Any) -> None:
    agent = await as_user(AGENT)
    subject = f"客户反映车险理赔款迟迟未到账 {uuid.uuid4().hex[:6]}"
    ticket = await _register(agent, subject)
    tid, number = ticket["id"], ticket["number"]
    parent = await _org(live_app, PARENT_ORG)

    # The parent org's handler has the page open already: the transfer must reach it live.
    upstairs_context = await new_context(browser, live_app)
    upstairs = await open_tab(upstairs_context)
    try:
        await _log_in(upstairs, live_app, PARENT_HANDLER)
        await upstairs.goto("/tickets")
        await expect(upstairs.locator("#connection")).to_have_attribute("data-state", "open")
        await expect(upstairs.locator("#ticket-list")).to_have_attribute("aria-busy", "false")
        await expect(_row(upstairs, tid)).to_have_count(0)

        # The outlet handler: the new complaint is in 我的待办, with its type, step and deadline.
        await _log_in(page, live_app, HANDLER)
        await page.goto("/tickets")
        await expect(page).to_have_title("工单处理 · 联络")
        await expect(page.locator("#user-name")).to_have_text(live_app.users[HANDLER].display_name)
        await expect(page.locator("#tab-todo")).to_have_attribute("aria-selected", "true")
        row = _row(page, tid)
        await expect(row).to_contain_text(number)
        await expect(row).to_contain_text("消费投诉")
        await expect(row).to_contain_text(subject)
        await expect(row).to_contain_text("处理 · 环节时限")
        await expect(page.locator("#list-export")).to_have_attribute("href", "/api/workflow/todo.xlsx")
        await shots.take(page, "todo-list")

        # Opened from the keyboard: facts with labels from the code tables, the timeline starts with 登记.
        await _open_with_enter(page, tid, number)
        await expect(page.locator("#detail-subject")).to_have_text(subject)
        await expect(page.locator("#ticket-details")).to_contain_text("理赔纠纷")
        await expect(page.locator("#ticket-details")).to_contain_text("机动车辆保险")
        await expect(page.locator("#timeline .tl-item").first).to_have_attribute("data-action", "submit")
        await expect(page.locator("#timeline .tl-item").first.locator(".tl-action")).to_have_text("登记")
        await expect(page.locator("#work-items")).to_contain_text("处理")
        await expect(page.locator('#action-buttons button[data-action="transfer"]')).to_be_visible()
        await shots.take(page, "ticket-opened")

        # 转办 to the parent org with an opinion: gone from the outlet's 待办, 转办 on the timeline.
        opinion = "涉及中心支公司理赔时效，请协助处理"
        await _act(page, "transfer", opinion, target_org=parent.id)
        await expect(page.locator("#action-result")).to_have_text("已办理：转办")
        await expect(row).to_have_count(0)
        last = page.locator("#timeline .tl-item").last
        await expect(last).to_have_attribute("data-action", "transfer")
        await expect(last.locator(".tl-action")).to_have_text("转办")
        await expect(last.locator(".tl-opinion")).to_contain_text(opinion)
        await expect(last.locator(".tl-who")).to_contain_text(f"→ {parent.name}")  # named, though above the outlet
        await shots.take(page, "transferred")

        # 我的已办 by the arrow key: the ticket with the handler's last action.
        await page.locator("#tab-todo").focus()
        await page.keyboard.press("ArrowRight")
        await expect(page.locator("#tab-done")).to_be_focused()
        await expect(page.locator("#tab-done")).to_have_attribute("aria-selected", "true")
        await expect(_row(page, tid)).to_contain_text("最近办理：转办")
        await expect(page.locator("#list-export")).to_have_attribute("href", "/api/workflow/done.xlsx")
        await shots.take(page, "done-tab")

        # The parent's handler saw it arrive without reloading, and proposes a decision (拟办).
        await expect(_row(upstairs, tid)).to_contain_text(number)
        await expect(upstairs.locator("#live-notice")).to_contain_text(number)
        await shots.take(upstairs, "parent-todo-live")
        await _open_with_enter(upstairs, tid, number)
        await _act(upstairs, "propose", "拟同意补付理赔款并致歉")
        await expect(upstairs.locator("#action-result")).to_have_text(re.compile("^已办理："))
        await expect(upstairs.locator("#timeline .tl-item").last).to_have_attribute("data-action", "propose")
        await expect(upstairs.locator("#work-items")).to_contain_text("机构负责人")
        await shots.take(upstairs, "proposed")
    finally:
        await upstairs_context.close()

    # The parent's manager has it in 待办 and is offered 审批.
    await _log_in(page, live_app, PARENT_MANAGER)
    await page.goto(f"/tickets?id={tid}")
    await expect(page.locator("#detail-heading")).to_have_text(f"工单 {number}")
    await expect(_row(page, tid)).to_contain_text("审批")
    approve = page.locator('#action-buttons button[data-action="approve"]')
    await expect(approve).to_be_visible()
    await expect(approve).to_contain_text(re.compile("审批|同意"))
    await shots.take(page, "approver")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_someone_acted_first_when_the_handler_submits_then_told_and_the_ticket_is_refreshed(
        page: Page, live_app: LiveApp, shots: Screenshots, as_user: Any) -> None:
    agent = await as_user(AGENT)
    ticket = await _register(agent, f"保单退保金额有异议 {uuid.uuid4().hex[:6]}")
    await _log_in(page, live_app, HANDLER)
    await page.goto(f"/tickets?id={ticket['id']}")
    await expect(page.locator("#detail-heading")).to_have_text(f"工单 {ticket['number']}")
    await expect(page.locator('#action-buttons button[data-action="transfer"]')).to_be_visible()

    # The handler fills in a transfer; meanwhile the agent urges (催办) the ticket, so the version the page
    # holds is no longer the ticket's. The notice reaches the page, which leaves the form alone but says so.
    parent = await _org(live_app, PARENT_ORG)
    await page.locator('#action-buttons button[data-action="transfer"]').click()
    form = page.locator("#action-form")
    await form.locator('select[name="target_org_id"]').select_option(str(parent.id))
    await form.locator('textarea[name="opinion"]').fill("请上级协助")
    r = await agent.post(f"/api/tickets/{ticket['id']}/actions",
                         json={"action": "urge", "version": ticket["version"], "opinion": "客户来电催促"})
    assert r.status_code == 200, r.text
    await expect(page.locator("#action-result")).to_contain_text("该工单有新动态")
    await expect(form.locator('textarea[name="opinion"]')).to_have_value("请上级协助")

    await form.locator("#action-submit").click()
    await expect(page.locator("#action-result")).to_contain_text("工单已被他人更新，已刷新")
    await expect(page.locator("#action-form")).to_be_hidden()
    await expect(page.locator("#timeline .tl-item").last).to_have_attribute("data-action", "urge")
    await expect(page.locator("#timeline .tl-item").last).to_contain_text("客户来电催促")
    await shots.take(page, "stale-refreshed")

    # A refusal that is not about the version is shown in the form: no target chosen.
    await page.locator('#action-buttons button[data-action="transfer"]').click()
    await page.locator("#action-submit").click()
    target = page.locator('#action-form select[name="target_org_id"]')
    await expect(target).to_have_attribute("aria-invalid", "true")
    await expect(target).to_be_focused()
    await shots.take(page, "missing-target")
    # The stale answer is a 409, which the browser logs as a failed load; nothing else went wrong.
    assert [m for m in page.errors.messages if "409" not in m] == []  # type: ignore[attr-defined]


async def test_given_a_subject_with_markup_when_listed_and_opened_then_shown_as_text(
        page: Page, live_app: LiveApp, shots: Screenshots, as_user: Any) -> None:
    agent = await as_user(AGENT)
    payload = f'<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>{uuid.uuid4().hex[:6]}'
    ticket = await _register(agent, payload)
    after = await _register(agent, f"下一件 {uuid.uuid4().hex[:6]}")  # due just after it: the next row
    await _log_in(page, live_app, HANDLER)
    await page.goto("/tickets")
    row = _row(page, ticket["id"])
    await expect(row.locator(".row-subject")).to_have_text(payload)
    await _open_with_enter(page, ticket["id"], ticket["number"])
    await expect(page.locator("#detail-subject")).to_have_text(payload)
    assert await page.locator("#ticket-list img, #detail img, #detail script").count() == 0
    assert await page.evaluate("() => window.__xss") is None
    await shots.take(page, "markup-as-text")

    # ↓ moves to the next row, Enter opens it; the list keeps one row in the Tab order.
    await row.focus()
    await page.keyboard.press("ArrowDown")
    await expect(_row(page, after["id"])).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#detail-heading")).to_have_text(f"工单 {after['number']}")
    await expect(page.locator("#ticket-list a.ticket-row[tabindex='0']")).to_have_count(1)
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_a_handler_of_a_sibling_outlet_when_opening_the_ticket_by_link_then_refused(
        page: Page, live_app: LiveApp, shots: Screenshots, as_user: Any) -> None:
    ticket = await _register(await as_user(AGENT), f"营业部服务态度差 {uuid.uuid4().hex[:6]}")
    sibling = await _org(live_app, SIBLING_ORG)
    username = f"handler_gm_{uuid.uuid4().hex[:6]}"
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        await create_user(session, username=username, password=live_app.password, display_name="国贸处理员",
                          org_id=sibling.id, roles=[Role.complaint_handler], now=live_app.ctx.clock.now(),
                          check_password=False, password_hash=await hash_password(live_app.password))

    await _log_in(page, live_app, username)
    await page.goto(f"/tickets?id={ticket['id']}")
    await expect(page.locator("#detail-denied")).to_be_visible()
    await expect(page.locator("#detail-denied-title")).to_have_text("工单不存在或您无权查看")
    await expect(page.locator("#detail-body")).to_be_hidden()
    await expect(page.locator("#ticket-list")).to_have_attribute("aria-busy", "false")
    await expect(_row(page, ticket["id"])).to_have_count(0)
    await shots.take(page, "sibling-refused")
    # The refusals are the API's 404s, which the browser logs as failed loads; nothing else went wrong.
    assert [m for m in page.errors.messages if "404" not in m] == []  # type: ignore[attr-defined]
