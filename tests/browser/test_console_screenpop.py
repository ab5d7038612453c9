"""The console's live part in headless Chromium: the screen pop of a ringing call, escaped caller text, the
websocket resuming after a cut without losing or repeating an event, and the state bar without a PBX."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Dialog, Page, WebSocketRoute, expect
from sqlalchemy import func, select

from backend.auth.models import User
from backend.core.events import AgentRinging, AgentStateChanged, CallAnswered, CallEnded, Envelope
from backend.directory.models import Customer, Policy
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from tests.browser.conftest import LiveApp, Screenshots

AGENT = "agent_bj_cy01"  # 望京营业部, with a phone (PJSIP/…)
NODE = "pbx1"
XSS = "<img src=x onerror=alert(1)>"
POP_VISIBLE_JS = """() => {
  const card = document.getElementById("call-card");
  const body = document.getElementById("panel-body");
  const name = document.getElementById("identity-heading");
  return card && !card.hidden && body && !body.hidden && name.textContent.trim().length > 0
    && document.querySelectorAll("#policies-body tr").length > 0;
}"""


@dataclass(frozen=True)
class Caller:
    customer_id: int
    mobile: str


async def agent_phone(live: LiveApp) -> str:
    async with live.ctx.db.session(scope=Scope.everything()) as session:
        phone = await session.scalar(select(User.phone_interface).where(User.username == AGENT))
    assert phone, f"{AGENT} has no phone in the seed"
    return phone


async def caller_with_policies(live: LiveApp, skip: int = 0) -> Caller:
    """A customer of the agent's subtree holding policies, whose mobile number names nobody else."""
    async with live.ctx.db.session(scope=Scope.everything()) as session:
        path = await session.scalar(select(Org.path).join(User, User.org_id == Org.id).where(User.username == AGENT))
        unique = select(Customer.mobile).group_by(Customer.mobile).having(func.count() == 1)
    async with live.ctx.db.session(scope=Scope.subtree(path)) as session:
        rows = (await session.execute(
            select(Customer.id, Customer.mobile).join(Policy, Policy.holder_id == Customer.id)
            .where(Customer.mobile.in_(unique)).distinct().order_by(Customer.id))).all()
    assert len(rows) > skip, "the seed gave the agent's outlet no customer with a policy"
    return Caller(rows[skip][0], rows[skip][1])


async def no_call_on_the_phone(page: Page, live: LiveApp) -> None:
    """Ends whatever call earlier tests left on the signed-in agent's phone: a console opening now would show it."""
    mine = await (await page.request.get("/api/telephony/agents/me/state")).json()
    if mine.get("call"):
        await live.ctx.bus.publish(CallEnded(call_id=mine["call"]["call_id"], direction="inbound", answered=True,
                                             agent_interface=mine["interface"], duration_seconds=1.0,
                                             talk_seconds=1.0), node=NODE)
        for _ in range(50):
            if not (await (await page.request.get("/api/telephony/agents/me/state")).json()).get("call"):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the agent's phone is still on a call")


async def log_in(page: Page, live: LiveApp) -> None:
    await page.goto("/login")
    await page.locator("#username").fill(AGENT)
    await page.locator("#password").fill(live.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console")
    await expect(page.locator("#connection")).to_have_text("已连接")


async def ring(live: LiveApp, call_id: str, caller: str, phone: str, **ivr: str) -> Envelope:
    return await live.ctx.bus.publish(
        AgentRinging(call_id=call_id, direction="inbound", caller=caller, queue="complaints", agent_interface=phone,
                     agent_name="坐席", ivr=ivr), node=NODE)


async def applied(page: Page) -> dict[str, int]:
    return await page.evaluate("() => ({...(window.__lianluo && window.__lianluo.applied)})")


async def test_given_agent_with_phone_when_call_rings_then_screen_pop_shows_masked_customer_within_1s(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    phone = await agent_phone(live_app)
    caller = await caller_with_policies(live_app)
    await log_in(page, live_app)
    # Before any event the bar shows what the platform knows (GET /api/telephony/agents/me/state).
    await expect(page.locator("#agent-state")).not_to_have_text("状态未知")
    await shots.take(page, "console-connected")

    started = time.monotonic()
    envelope = await ring(live_app, "call-pop-1", caller.mobile, phone, IVR_SERVICE="投诉", IVR_CHOICE="2")
    await page.wait_for_function(POP_VISIBLE_JS, polling=10, timeout=5_000)
    elapsed = time.monotonic() - started
    await shots.take(page, "screen-pop")
    assert elapsed < 1.0, f"screen pop took {elapsed:.3f} s"

    pop = await (await page.request.get("/api/screen-pop", params={
        "call_id": "call-pop-1", "node": NODE, "phone": caller.mobile})).json()
    customer = pop["customer"]
    assert customer["id"] == str(caller.customer_id)
    assert "*" in customer["id_number"] and "*" in customer["mobile"]  # an agent sees them masked
    await expect(page.locator("#identity-heading")).to_have_text(customer["name"])
    await expect(page.locator("#identity-fields")).to_contain_text(customer["id_number"])
    await expect(page.locator("#identity-fields")).not_to_contain_text(caller.mobile)
    await expect(page.locator("#policies-body tr")).to_have_count(len(pop["policies"]))
    await expect(page.locator("#policies-body")).to_contain_text(pop["policies"][0]["policy_number"])
    await expect(page.locator("#call-caller")).to_have_text(f"来电 {pop['caller']}")
    await expect(page.locator("#call-state")).to_have_text("振铃中")
    await expect(page.locator("#call-facts")).to_contain_text("投诉")
    await expect(page.locator("#quick-actions button")).to_have_text(["新建投诉", "新建报案", "新建咨询"])
    assert (await applied(page)) == {envelope.id: 1}

    # Alt+N: the complaint quick action opens the entry form filled from the call; 暂存 keeps it as the call's draft.
    await page.keyboard.press("Alt+N")
    await expect(page.locator("#entry-form")).to_be_visible()
    await expect(page.locator("#ef-subject")).to_be_focused()
    await expect(page.locator("#ef-complainant_name")).to_have_value(customer["name"])
    await page.keyboard.type("来电反映理赔进度慢")
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text(re.compile(r"^已暂存 \d\d:\d\d:\d\d$"))
    await shots.take(page, "draft-saved")
    draft = await (await page.request.get("/api/drafts/ticket:complaint:call:call-pop-1")).json()
    prefill = draft["payload"]["context"]["prefill"]
    assert (prefill["call_id"], prefill["customer_id"], draft["payload"]["values"]["subject"]) == (
        "call-pop-1", caller.customer_id, "来电反映理赔进度慢")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_caller_text_with_markup_when_popped_then_shown_as_text_and_nothing_runs(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    phone = await agent_phone(live_app)
    caller = await caller_with_policies(live_app, skip=1)
    await log_in(page, live_app)
    # A consultation registered earlier with the payload as its subject: the pop lists it.
    created = await page.request.post("/api/tickets", data={
        "type": "consultation", "submit": True, "subject": XSS, "customer_id": caller.customer_id,
        "caller_phone": caller.mobile})
    assert created.status == 201, await created.text()

    await ring(live_app, "call-xss-1", caller.mobile, phone, IVR_SERVICE=XSS)
    await page.wait_for_function(POP_VISIBLE_JS, timeout=5_000)
    await expect(page.locator("#recent-body")).to_contain_text(XSS)
    await expect(page.locator("#call-facts")).to_contain_text(XSS)
    await shots.take(page, "payload-as-text")
    await page.locator("#recent-body").scroll_into_view_if_needed()
    await shots.take(page, "payload-in-ticket-list")
    assert await page.locator("#panel img").count() == 0
    assert dialogs == []
    assert page.errors.messages == []  # type: ignore[attr-defined]


class Link:
    """The page's websocket, routed through Playwright so the test can cut it and keep it down."""

    def __init__(self) -> None:
        self.down = False
        self.routes: list[WebSocketRoute] = []

    async def handle(self, ws: WebSocketRoute) -> None:
        if self.down:
            await ws.close(code=1001, reason="network down")
            return
        ws.connect_to_server()
        self.routes.append(ws)

    async def cut(self) -> None:
        self.down = True
        for ws in self.routes:
            await ws.close(code=1001, reason="network down")
        self.routes.clear()


async def test_given_call_in_progress_when_websocket_cut_then_missed_events_applied_once_in_order(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    link = Link()
    await page.route_web_socket(re.compile(r"/ws(\?|$)"), link.handle)
    phone = await agent_phone(live_app)
    caller = await caller_with_policies(live_app, skip=2)
    await log_in(page, live_app)
    base: dict[str, Any] = {"call_id": "call-cut-1", "direction": "inbound", "caller": caller.mobile}
    seen = [await ring(live_app, base["call_id"], caller.mobile, phone),
            await live_app.ctx.bus.publish(CallAnswered(**base, queue="complaints", agent_interface=phone,
                                                        wait_seconds=4.0, ring_seconds=2.0), node=NODE),
            await live_app.ctx.bus.publish(AgentStateChanged(interface=phone, state="on_call", call_id="call-cut-1",
                                                             queues=("complaints",)), node=NODE)]
    await page.wait_for_function(POP_VISIBLE_JS, timeout=5_000)
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await expect(page.locator("#agent-state")).to_have_text("通话中")
    await shots.take(page, "on-call")

    await link.cut()
    await expect(page.locator("#connection")).to_have_text("重连中…")
    missed = [await live_app.ctx.bus.publish(CallEnded(**base, answered=True, queue="complaints", agent_interface=phone,
                                                       duration_seconds=65.0, talk_seconds=59.0), node=NODE),
              await live_app.ctx.bus.publish(AgentStateChanged(interface=phone, state="not_ready", reason="话后处理",
                                                               call_id="call-cut-1", queues=("complaints",)),
                                             node=NODE)]
    await shots.take(page, "link-down")
    await expect(page.locator("#call-state")).to_have_text("通话中")  # nothing arrives while the link is down

    link.down = False
    await expect(page.locator("#connection")).to_have_text("已连接", timeout=15_000)
    await expect(page.locator("#call-state")).to_have_text("已结束")
    await expect(page.locator("#agent-state")).to_have_text("话后处理")
    # 话后处理 counts down from LIANLUO_WRAPUP_SECONDS while it lasts
    await expect(page.locator("#agent-state-timer")).to_have_text(re.compile(r"^已用 \d+:\d\d · 剩余 \d+:\d\d$"))
    await shots.take(page, "resumed-wrap-up")
    counts = await applied(page)
    assert counts == {e.id: 1 for e in seen + missed}
    assert await page.evaluate("() => window.__lianluo.connects") >= 2

    # A reload resumes from the ids kept in sessionStorage: nothing is applied again, the state stays.
    await page.reload()
    await expect(page.locator("#connection")).to_have_text("已连接", timeout=15_000)
    await expect(page.locator("#agent-state")).to_have_text("话后处理")
    await expect(page.locator("#call-state")).to_have_text("已结束")
    assert await applied(page) == {}
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_no_pbx_answering_when_ready_pressed_then_chinese_message_and_page_keeps_working(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await log_in(page, live_app)
    await expect(page.locator("#agent-state")).not_to_have_text("状态未知")
    before = await page.locator("#agent-state").text_content()
    await page.keyboard.press("Alt+R")
    await expect(page.locator("#state-message")).to_have_text("正在示闲…")
    await expect(page.locator("#state-ready")).to_be_disabled()
    # The browser-test app runs no CTI: the backend waits for the node, then answers 503.
    await expect(page.locator("#state-message")).to_contain_text("示闲未执行：电话系统暂不可用", timeout=15_000)
    await expect(page.locator("#state-ready")).to_be_enabled()
    await expect(page.locator("#agent-state")).to_have_text(before or "")  # a refused command changes nothing
    await shots.take(page, "pbx-unavailable")
    await page.keyboard.press("Alt+S")
    await expect(page.locator("#search-value")).to_be_focused()
    assert [m for m in page.errors.messages if "503" not in m] == []  # type: ignore[attr-defined]
