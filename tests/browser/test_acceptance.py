"""Issue 6's acceptance, end to end in headless Chromium against a PBX over real AMI and FastAGI.

The PBX simulator, the IVR and the CTI bridge run beside the live app exactly as ``lianluo demo`` runs them
(``backend.demo.EmbeddedPbx``); the agent's phone is a simulated phone that auto-answers, and a caller — a real
customer of the agent's outlet — dials the hotline and presses 2 (投诉) in the IVR. Nothing is published on the
bus by the test: every event the pages see comes from the simulator through the bridge.

The steps, each with a screenshot: the agent logs in, 签入 and 示闲; the call goes through the IVR and the screen
pop shows the caller within 1 s of the ring; the agent registers a complaint from the pop and autosave keeps it;
the tab is closed mid-entry and the console reopened, the draft restored and the complaint submitted; it is in
the outlet handler's 待办; and the team lead's wallboard followed the agent's states and the call throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import select

from backend.auth.models import User
from backend.core import events as ev
from backend.core.bus import ONLY_NEW
from backend.demo import EmbeddedPbx
from backend.orgs.scope import Scope
from cti.simulator import AgentSpec, PbxSimulator
from tests.browser.conftest import LiveApp, Screenshots, new_context, open_tab
from tests.browser.test_console_screenpop import POP_VISIBLE_JS, Caller, caller_with_policies
from tests.browser.test_entry import FORM_OPEN_JS, SAVED, field, get_json, local_copy

AGENT = "agent_bj_cy01"  # 坐席, 朝阳中心支公司望京营业部
HANDLER = "complaint_handler_bj_cy01"  # 投诉处理员 of the same outlet: a complaint registered there is theirs
LEAD = "team_lead_bj"  # 班长 of the 北京 branch, above the outlet
QUEUE = "complaints"
SUBJECT = "车险理赔款迟迟未到账，已等待二十天"
SPEED = 5.0  # simulated seconds per real second: the IVR's prompts and the phone's ring go by five times faster


@dataclass
class Desk:
    """One person's browser: their own profile (cookies, storage) and the tab they work in."""

    context: BrowserContext
    tab: Page


@contextlib.asynccontextmanager
async def running_pbx(live_app: LiveApp, phone: str) -> AsyncIterator[PbxSimulator]:
    # The agent's phone joins queues only when the agent signs in from the console (static=False), rings for
    # 3 s and then talks until the test hangs up.
    pbx = EmbeddedPbx(live_app.ctx, [AgentSpec(phone, "望京坐席", answer_after=3.0, talk_time=3600.0, static=False)],
                      speed=SPEED)
    simulator = await pbx.start()
    try:
        await asyncio.wait_for(pbx.connected(), 10)
        yield simulator
    finally:
        await pbx.stop()


@contextlib.asynccontextmanager
async def desk(browser: Browser, live_app: LiveApp, username: str) -> AsyncIterator[Desk]:
    context = await new_context(browser, live_app)
    try:
        tab = await open_tab(context)
        await tab.goto("/login")
        await tab.locator("#username").fill(username)
        await tab.locator("#password").fill(live_app.password)
        await tab.keyboard.press("Enter")
        await tab.wait_for_url("**/console")
        yield Desk(context, tab)
    finally:
        await context.close()


class Ringing:
    """When the bridge published the ring of a call from ``caller`` on the bus (monotonic clock)."""

    def __init__(self, live_app: LiveApp, caller: str) -> None:
        self.live_app = live_app
        self.caller = caller
        self.event: ev.AgentRinging | None = None
        self.at: float | None = None
        self.seen = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ringing:
        self._task = asyncio.create_task(self._follow())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self) -> None:
        async for envelope in self.live_app.ctx.bus.subscribe(ev.AgentRinging.stream, after=ONLY_NEW):
            event = envelope.event
            if isinstance(event, ev.AgentRinging) and event.caller == self.caller:
                self.at = time.monotonic()
                self.event = event
                self.seen.set()
                return


async def _phone_of(live_app: LiveApp, username: str) -> str:
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        phone = await session.scalar(select(User.phone_interface).where(User.username == username))
    assert phone, f"{username} has no phone in the seed"
    return phone


def _tile_figure(lead: Page, figure: str) -> Locator:
    return lead.locator(f'li.tile[data-queue="{QUEUE}"] [data-figure="{figure}"] dd')


async def _agent_row_state(lead: Page, phone_user_id: int, state: str) -> None:
    await expect(lead.locator(f'#agents-body tr[data-user-id="{phone_user_id}"]')).to_have_attribute(
        "data-state", state, timeout=10_000)


async def test_given_agent_and_caller_when_call_goes_through_ivr_then_pop_entry_restore_submit_todo_and_wallboard(
        browser: Browser, live_app: LiveApp, shots: Screenshots) -> None:
    phone = await _phone_of(live_app, AGENT)
    caller: Caller = await caller_with_policies(live_app, skip=7)
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        agent_id = await session.scalar(select(User.id).where(User.username == AGENT))
    assert agent_id is not None

    async with running_pbx(live_app, phone) as simulator, desk(browser, live_app, LEAD) as lead, \
            desk(browser, live_app, AGENT) as agent:
        # The team lead watches the wallboard; the agent's console is connected and shows the PBX's state.
        await lead.tab.goto("/wallboard")
        await expect(lead.tab.locator("#live")).to_have_attribute("data-state", "live")
        page = agent.tab
        await expect(page.locator("#connection")).to_have_text("已连接")
        # Before any event the bar shows what the platform knows (other tests may have left this phone in a state).
        await expect(page.locator("#agent-state")).not_to_have_text("状态未知")
        await shots.take(page, "agent-logged-in")

        # 签入 the complaints queue only (the choices come from the platform's queues), then 示闲.
        await page.locator(".queue-picker summary").click()
        for box in await page.locator("#queue-choices input[name=queue]").all():
            await box.set_checked(await box.get_attribute("value") == QUEUE)
        await expect(page.locator("#queue-choices")).to_contain_text("投诉")
        await page.keyboard.press("Alt+I")
        await expect(page.locator("#agent-state")).to_have_text("示忙", timeout=10_000)
        await expect(page.locator("#agent-queues")).to_have_text("队列：投诉")
        await _agent_row_state(lead.tab, agent_id, "not_ready")
        await page.keyboard.press("Alt+R")
        await expect(page.locator("#agent-state")).to_have_text("示闲", timeout=10_000)
        await shots.take(page, "agent-ready")
        await _agent_row_state(lead.tab, agent_id, "ready")
        await shots.take(lead.tab, "wallboard-agent-ready")

        # A customer calls the hotline and presses 2 (投诉); the IVR knows them and queues them for complaints.
        async with Ringing(live_app, caller.mobile) as ringing:
            await simulator.inbound_call(caller.mobile, keys=("2",), gap=9.0, stay=600)
            await asyncio.wait_for(ringing.seen.wait(), 30)
            await page.wait_for_function(POP_VISIBLE_JS, polling=10, timeout=5_000)
            popped = time.monotonic()
        assert ringing.at is not None and ringing.event is not None
        assert popped - ringing.at < 1.0, f"screen pop {popped - ringing.at:.3f} s after the ring"
        assert ringing.event.agent_interface == phone and ringing.event.queue == QUEUE
        await shots.take(page, "screen-pop")
        pop = await (await page.request.get("/api/screen-pop", params={
            "call_id": ringing.event.call_id, "node": live_app.ctx.settings.node_id,
            "phone": caller.mobile})).json()
        assert pop["customer"]["id"] == str(caller.customer_id)
        await expect(page.locator("#identity-heading")).to_have_text(pop["customer"]["name"])
        await expect(page.locator("#call-facts")).to_contain_text("投诉")
        await expect(page.locator("#identity-fields")).not_to_contain_text(caller.mobile)  # masked for agents

        # The phone answers: the console, the state bar and the wallboard show the call.
        await expect(page.locator("#call-state")).to_have_text("通话中", timeout=10_000)
        await expect(page.locator("#agent-state")).to_have_text("通话中")
        await _agent_row_state(lead.tab, agent_id, "on_call")
        row = lead.tab.locator(f'#agents-body tr[data-user-id="{agent_id}"]')
        await expect(row.locator("td.call-cell")).to_contain_text("呼入 · 投诉 · 通话中")
        await shots.take(lead.tab, "wallboard-agent-on-call")

        call_id = ringing.event.call_id

        # The outlet's complaint handler has 我的待办 open before anything is registered.
        async with desk(browser, live_app, HANDLER) as handler:
            await handler.tab.goto("/tickets")
            await expect(handler.tab.locator("#connection")).to_have_attribute("data-state", "open")
            await expect(handler.tab.locator("#ticket-list")).to_have_attribute("aria-busy", "false")

            # 新建投诉 from the pop: the complaint form, filled from the call and the customer.
            await page.locator("#quick-actions button", has_text="新建投诉").click()
            await page.wait_for_function(FORM_OPEN_JS)
            await expect(field(page, "complainant_name")).to_have_value(pop["customer"]["name"])
            await expect(page.locator("#entry-facts")).to_contain_text(call_id)
            # Autosave's period, 60 s in production, is the form's data attribute: one second here.
            await page.evaluate("() => { document.getElementById('entry-form').dataset.autosaveSeconds = '1'; }")
            await field(page, "subject").fill(SUBJECT)
            await field(page, "demand").fill("要求尽快赔付并说明原因")
            policy = pop["policies"][0]["policy_number"]
            await page.locator("#entry-policy-pick").select_option(policy)
            await field(page, "details.cause").select_option("claims")
            await field(page, "details.sub_cause").select_option("claim_too_slow")
            await expect(page.locator("#entry-autosave")).to_have_text(SAVED, timeout=10_000)
            await shots.take(page, "complaint-autosaved")
            key = f"ticket:complaint:call:{call_id}"
            saved = await get_json(page, f"/api/drafts/{key}")
            assert saved["payload"]["values"]["subject"] == SUBJECT
            assert (await local_copy(page, key))["payload"]["values"]["subject"] == SUBJECT

            # The tab is closed mid-entry; a new one offers the draft, 恢复 brings every field back.
            await page.close()
            page = await open_tab(agent.context)
            await page.goto("/console")
            await expect(page.locator("#entry-restore-text")).to_contain_text("发现未提交的草稿")
            await expect(page.locator("#entry-restore-yes")).to_be_focused()
            await shots.take(page, "draft-offered-after-reopen")
            await page.keyboard.press("Enter")
            await page.wait_for_function(FORM_OPEN_JS)
            for name, value in (("subject", SUBJECT), ("details.cause", "claims"),
                                ("details.sub_cause", "claim_too_slow"), ("policy_number", policy)):
                await expect(field(page, name)).to_have_value(value)
            await shots.take(page, "draft-restored")

            # The new tab knows the call is still up: its card and the caller's picture are back. 挂断 ends it
            # through the CTI: 话后处理 on the console and on the wallboard.
            await expect(page.locator("#call-state")).to_have_text("通话中")
            await expect(page.locator("#identity-heading")).to_have_text(pop["customer"]["name"])
            await shots.take(page, "call-card-back-after-reopen")
            await page.locator("#cc-hangup").click()
            await expect(page.locator("#agent-state")).to_have_text("话后处理", timeout=10_000)
            await _agent_row_state(lead.tab, agent_id, "wrap_up")
            await expect(row.locator("td").nth(1)).to_have_text("话后处理")
            await expect(_tile_figure(lead.tab, "answered")).not_to_have_text("0")
            await shots.take(lead.tab, "wallboard-agent-wrap-up")

            # Submitted (Ctrl+Enter): numbered, linked to the call, the draft gone from server and browser.
            await field(page, "subject").focus()
            await page.keyboard.press("Control+Enter")
            result = page.locator("#entry-result")
            await expect(result).to_have_text(re.compile(r"^已登记 \S+，处理时限 \d{4}-\d\d-\d\d \d\d:\d\d$"))
            await shots.take(page, "complaint-submitted")
            number = re.sub(r"^已登记 (\S+)，.*$", r"\1", await result.inner_text())
            [ticket] = await get_json(page, "/api/tickets", number=number)
            assert (ticket["status"], ticket["type"], ticket["call_id"], ticket["customer_id"]) == (
                "open", "complaint", call_id, caller.customer_id)
            assert (await page.request.get(f"/api/drafts/{key}")).status == 404
            assert await local_copy(page, key) is None

            # It arrives in the handler's 我的待办 without a reload (the ticket notice on the websocket).
            arrived = handler.tab.locator(f'#ticket-list [data-ticket-id="{ticket["id"]}"]')
            await expect(arrived).to_contain_text(number, timeout=10_000)
            await expect(arrived).to_contain_text(SUBJECT)
            await shots.take(handler.tab, "handler-todo")
            assert handler.tab.errors.messages == []  # type: ignore[attr-defined]
        assert page.errors.messages == []  # type: ignore[attr-defined]
        assert lead.tab.errors.messages == []  # type: ignore[attr-defined]
