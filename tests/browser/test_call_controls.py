"""Call controls in the console, in headless Chromium against the live app. The browser-test app runs no CTI, so
the telephony requests are intercepted (page.route) to check what the buttons send and to answer as a PBX node
would, and the PBX's side of the story — ringing, hold, consultation, the end of a call — is published on the bus.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Page, Route, expect
from sqlalchemy import select

from backend.auth.models import User
from backend.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    ClickToCallCommand,
    OriginateResult,
)
from backend.directory.models import Policy
from backend.orgs.scope import Scope
from tests.browser.conftest import LiveApp, Screenshots
from tests.browser.test_console_screenpop import AGENT, NODE, agent_phone, caller_with_policies, log_in

TELEPHONY_COMMANDS = re.compile(r"/api/telephony/(dial|calls/)")


class FakeNode:
    """Stands in for the PBX node behind /api/telephony: records every command the page sends and answers it
    (ok, or the problem ``refuse`` names for a path ending)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.refuse: dict[str, tuple[int, str]] = {}

    async def handle(self, route: Route) -> None:
        request = route.request
        path = request.url.split("/api/telephony/", 1)[1]
        body = json.loads(request.post_data or "{}")
        self.sent.append((path, body))
        for ending, (status, detail) in self.refuse.items():
            if path.endswith(ending):
                await route.fulfill(status=status, content_type="application/problem+json", body=json.dumps(
                    {"type": "urn:lianluo:problem:pbx-refused", "title": "电话系统拒绝了该操作", "status": status,
                     "detail": detail}))
                return
        call_id = path.split("/")[1] if path.startswith("calls/") else None
        await route.fulfill(status=202 if path == "dial" else 200, content_type="application/json",
                            body=json.dumps({"command_id": f"cmd-{len(self.sent)}", "ok": True, "call_id": call_id}))

    def paths(self) -> list[str]:
        return [path for path, _ in self.sent]


async def test_given_an_answered_call_when_the_agent_uses_the_controls_then_each_sends_its_command_and_shows_the_pbx_state(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    node = FakeNode()
    await page.route(TELEPHONY_COMMANDS, node.handle)
    phone = await agent_phone(live_app)
    caller = await caller_with_policies(live_app, skip=3)
    await log_in(page, live_app)
    bus, call_id = live_app.ctx.bus, "call-cc-1"
    base: dict[str, Any] = {"call_id": call_id, "direction": "inbound", "caller": caller.mobile}
    await bus.publish(AgentRinging(**base, queue="complaints", agent_interface=phone), node=NODE)
    await expect(page.locator("#call-controls")).to_be_visible()
    # ringing: an inbound call is the agent's to pick up on the phone; nothing to press yet
    for button in ("#cc-hangup", "#cc-hold", "#cc-transfer"):
        await expect(page.locator(button)).to_be_disabled()
    await bus.publish(CallAnswered(**base, queue="complaints", agent_interface=phone), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await expect(page.locator("#cc-hold")).to_be_enabled()
    await shots.take(page, "answered-controls")

    # 保持 (Alt+P): the command goes out; 保持中 only once the PBX reports the hold
    await page.keyboard.press("Alt+P")
    await expect(page.locator("#cc-status")).to_have_text("已请话机保持…")
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await bus.publish(CallHeld(**base, channel=f"{phone}-00000002"), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("保持中")
    await expect(page.locator("#cc-hold")).to_contain_text("取消保持")
    await expect(page.locator("#cc-hold")).to_have_attribute("aria-pressed", "true")
    await shots.take(page, "held")
    await page.locator("#cc-hold").click()
    await bus.publish(CallResumed(**base, channel=f"{phone}-00000002"), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await expect(page.locator("#cc-hold")).to_contain_text("保持")

    # 转接 (Alt+T) → 咨询转接 to an outside number, then 取消咨询; then a direct transfer to a queue
    await page.keyboard.press("Alt+T")
    await expect(page.locator("#cc-transfer-form")).to_be_visible()
    await page.get_by_role("radio", name="咨询转接").check()
    await expect(page.locator("#cc-target-type option[value='queue']")).to_be_disabled()
    await page.locator("#cc-target-type").select_option("number")
    await page.locator("#cc-target").fill("138-0000-0001")
    await expect(page.locator("#cc-transfer-go")).to_have_text("开始咨询")
    await shots.take(page, "transfer-form")
    await page.locator("#cc-transfer-go").click()
    await expect(page.locator("#cc-consult")).to_be_visible()
    await expect(page.locator("#cc-hangup")).to_be_disabled()
    await bus.publish(CallHeld(**base, channel=f"{phone}-00000002"), node=NODE)  # Atxfer holds the caller
    await shots.take(page, "consulting")
    await page.locator("#cc-cancel").click()
    await expect(page.locator("#cc-status")).to_have_text("已取消咨询，回到原通话")
    await bus.publish(CallResumed(**base, channel=f"{phone}-00000002"), node=NODE)
    await expect(page.locator("#cc-consult")).to_be_hidden()

    await page.locator("#cc-transfer").click()
    await page.get_by_role("radio", name="直接转接").check()
    await page.locator("#cc-target-type").select_option("queue")
    await page.locator("#cc-queue").select_option("claims")
    await page.locator("#cc-transfer-go").click()
    await expect(page.locator("#cc-status")).to_contain_text("已转接至")
    await bus.publish(CallTransferred(**base, kind="blind", target="claims@transfer"), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("已转接")
    for button in ("#cc-hangup", "#cc-hold", "#cc-transfer"):
        await expect(page.locator(button)).to_be_disabled()
    await shots.take(page, "transferred")

    calls = f"calls/{call_id}"
    assert node.sent == [(f"{calls}/hold", {"on": True, "node": NODE}), (f"{calls}/hold", {"on": False, "node": NODE}),
                         (f"{calls}/transfer", {"kind": "attended", "number": "138-0000-0001", "node": NODE}),
                         (f"{calls}/transfer/cancel", {"node": NODE}),
                         (f"{calls}/transfer", {"kind": "blind", "queue": "claims", "node": NODE})]
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_the_pbx_refuses_or_is_away_when_a_control_is_pressed_then_the_card_says_so_and_keeps_the_state(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    node = FakeNode()
    node.refuse = {"/hangup": (409, "电话系统拒绝了该操作：PJSIP/1001 is not on call call-cc-2"),
                   "/hold": (503, "电话系统（节点 pbx1）未在规定时间内应答，请稍后重试")}
    await page.route(TELEPHONY_COMMANDS, node.handle)
    phone = await agent_phone(live_app)
    await log_in(page, live_app)
    base: dict[str, Any] = {"call_id": "call-cc-2", "direction": "inbound", "caller": "13900000002"}
    await live_app.ctx.bus.publish(AgentRinging(**base, agent_interface=phone), node=NODE)
    await live_app.ctx.bus.publish(CallAnswered(**base, agent_interface=phone), node=NODE)
    await expect(page.locator("#cc-hangup")).to_be_enabled()
    await page.keyboard.press("Alt+H")
    await expect(page.locator("#cc-status")).to_have_text(
        "挂断未执行：电话系统拒绝了该操作：PJSIP/1001 is not on call call-cc-2")
    await page.keyboard.press("Alt+P")
    await expect(page.locator("#cc-status")).to_contain_text("保持未执行：电话系统（节点 pbx1）未在规定时间内应答")
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await expect(page.locator("#cc-hangup")).to_be_enabled()
    await shots.take(page, "refused")
    assert node.paths() == ["calls/call-cc-2/hangup", "calls/call-cc-2/hold"]
    assert [m for m in page.errors.messages if "409" not in m and "503" not in m] == []  # type: ignore[attr-defined]


async def test_given_a_masked_mobile_when_拨打_is_pressed_then_a_reference_is_sent_and_the_outbound_call_shows_as_外呼(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    node = FakeNode()
    await page.route(TELEPHONY_COMMANDS, node.handle)
    phone = await agent_phone(live_app)
    caller = await caller_with_policies(live_app, skip=4)
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        policy = await session.scalar(select(Policy.policy_number).where(Policy.holder_id == caller.customer_id))
        agent_id = await session.scalar(select(User.id).where(User.username == AGENT))
    await log_in(page, live_app)
    await page.locator("#search-field").select_option("policy_number")  # the number itself the agent never sees
    await page.locator("#search-value").fill(policy or "")
    await page.keyboard.press("Enter")
    dial = page.get_by_role("button", name="拨打 手机")
    await expect(dial).to_be_visible()
    masked = caller.mobile[:3] + "****" + caller.mobile[-4:]
    await expect(page.locator("#identity-fields")).to_contain_text(masked)
    await shots.take(page, "customer-with-dial")

    # Tab reaches the button; Enter presses it
    await dial.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#dial-status")).to_contain_text("正在呼叫您的话机，接起后拨打")
    assert node.sent == [("dial", {"ref": {"kind": "customer", "id": str(caller.customer_id), "field": "mobile"}})]

    # the PBX rings the agent's own phone, the agent picks up, the customer answers
    bus, call_id = live_app.ctx.bus, "call-out-1"
    out: dict[str, Any] = {"call_id": call_id, "direction": "outbound", "caller": phone.rsplit("/", 1)[-1]}
    await bus.publish(CallOffered(**out, origin_channel=f"{phone}-0000000a", command_id="cmd-1"), node=NODE)
    await bus.publish(AgentRinging(**out, agent_interface=phone), node=NODE)
    await expect(page.locator("#call-caller")).to_have_text(re.compile(r"^外呼 .+ 手机 " + re.escape(masked) + "$"))
    await expect(page.locator("#cc-hangup")).to_be_enabled()  # an outbound call may be given up while it rings
    await expect(page.locator("#cc-hold")).to_be_disabled()
    # the node's answer goes to whoever sent the command (the hub learns it from the command on the bus)
    await bus.publish(ClickToCallCommand(command_id="cmd-1", node=NODE, requested_by=agent_id, channel=phone,
                                         context="from-internal", exten="9000"), node=NODE)
    await bus.publish(OriginateResult(command_id="cmd-1", success=True, reason=4, reason_text="answered",
                                      call_id=call_id), node=NODE)
    await expect(page.locator("#cc-status")).to_contain_text("已接起，正在呼叫")
    await bus.publish(CallAnswered(**out, agent_interface=phone), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("通话中")
    await expect(page.locator("#cc-transfer")).to_be_enabled()
    await expect(page.locator("#pop-status")).to_have_text("外呼客户")  # the customer dialled, as the pop found them
    await expect(page.locator("#quick-actions button")).to_have_count(3)
    await shots.take(page, "outbound-call")
    await bus.publish(CallEnded(**out, answered=True, agent_interface=phone, duration_seconds=30.0,
                                talk_seconds=20.0, command_id="cmd-1"), node=NODE)
    await expect(page.locator("#call-state")).to_have_text("已结束")
    await expect(page.locator("#cc-hangup")).to_be_disabled()

    content = await page.content()
    assert caller.mobile not in content  # the full number is never on the page
    assert page.errors.messages == []  # type: ignore[attr-defined]
