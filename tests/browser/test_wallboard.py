"""The supervisor wallboard in headless Chromium: live queue and agent figures, row actions, and refusal.

Events are published on the live app's bus as the CTI bridge would; the page hears of them on its
websocket and re-reads GET /api/wallboard. No PBX node runs here, so a command first goes unanswered
(503), then a stand-in node on the ``commands`` stream answers like the real one and reports the
agent's new state.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from playwright.async_api import Locator, Page, expect
from sqlalchemy import select

from backend.auth.models import User
from backend.core import events as ev
from backend.core.bus import ONLY_NEW
from backend.orgs.scope import Scope
from tests.browser.conftest import LiveApp, Screenshots

LEAD = "team_lead_bj"  # 班长 of the 北京 branch
AGENT = "agent_bj_cy01"  # an agent of that branch's subtree, with a phone
OUTSIDER = "agent_bj_cy"  # an agent: no agent.supervise, no call.read
QUEUE = "claims"
NO_NODE_WAIT_MS = 10_000  # the backend gives up on the PBX node after cti_command_timeout_seconds (5 s)


async def _log_in(page: Page, live_app: LiveApp, username: str) -> None:
    r = await page.request.post("/api/auth/login", data={"username": username, "password": live_app.password})
    assert r.ok, await r.text()


async def _user(live_app: LiveApp, username: str) -> User:
    async with live_app.ctx.db.session(scope=Scope.everything()) as session:
        user = await session.scalar(select(User).where(User.username == username))
    assert user is not None and user.phone_interface, username
    return user


async def _publish(live_app: LiveApp, *events: ev.Event) -> None:
    for event in events:
        await live_app.ctx.bus.publish(event, node=live_app.ctx.settings.node_id)


def _state(phone: str, state: str, *, reason: str | None = None, call_id: str | None = None) -> ev.AgentStateChanged:
    return ev.AgentStateChanged(interface=phone, agent_name="agent", state=state, reason=reason, queues=(QUEUE,),
                                call_id=call_id)


@contextlib.asynccontextmanager
async def _stand_in_node(live_app: LiveApp, seen: list[ev.CtiCommand]) -> AsyncIterator[None]:
    """Answers every command ok, and reports a pause or unpause as the agent's new state, like the node."""
    bus = live_app.ctx.bus

    async def serve() -> None:
        async for envelope in bus.subscribe(ev.CtiCommand.stream, after=ONLY_NEW):
            command = envelope.event
            if not isinstance(command, ev.CtiCommand):
                continue
            seen.append(command)
            await bus.publish(ev.CommandResult(command_id=command.command_id, ok=True), node=command.node)
            if isinstance(command, ev.PauseCommand):
                await _publish(live_app, _state(command.interface, "not_ready" if command.paused else "ready",
                                                reason=command.reason))

    task = asyncio.create_task(serve(), name="stand-in-pbx-node")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _tile_figure(page: Page, figure: str) -> Locator:
    return page.locator(f'li.tile[data-queue="{QUEUE}"] [data-figure="{figure}"] dd')


async def test_given_team_lead_when_calls_and_agent_events_arrive_then_wallboard_follows_and_row_actions_answer(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    agent = await _user(live_app, AGENT)
    phone, call_id = agent.phone_interface, f"wb-{uuid.uuid4().hex[:12]}"
    await _publish(live_app, _state(phone, "ready"))
    await _log_in(page, live_app, LEAD)

    await page.goto("/wallboard")
    await expect(page).to_have_title("班长监控墙 · 联络")
    await expect(page.locator("#user-name")).to_have_text(live_app.users[LEAD].display_name)
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    row = page.locator(f'#agents-body tr[data-user-id="{agent.id}"]')
    await expect(row).to_have_attribute("data-state", "ready")
    await expect(row.locator("td").nth(1)).to_have_text("示闲")
    tile = page.locator(f'li.tile[data-queue="{QUEUE}"]')
    await expect(tile.locator(".tile-name")).to_have_text("理赔报案")
    answered_before = int(await _tile_figure(page, "answered").inner_text())
    handled_before = int(await row.locator("td").nth(3).inner_text())
    await expect(page.locator("#state-chart canvas")).to_have_count(1)
    await shots.take(page, "agent-ready")

    # A call queues and rings the agent: waiting in the tile, 振铃 in the row.
    await _publish(live_app, ev.CallQueued(call_id=call_id, direction="inbound", caller="13912345678", queue=QUEUE),
                   ev.AgentRinging(call_id=call_id, direction="inbound", caller="13912345678", queue=QUEUE,
                                   agent_interface=phone),
                   _state(phone, "ringing", call_id=call_id))
    await expect(_tile_figure(page, "waiting")).to_have_text("1")
    await expect(row).to_have_attribute("data-state", "ringing")
    await expect(row.locator("td.call-cell")).to_contain_text("呼入 · 理赔报案 · 振铃")
    await expect(tile.locator('[data-state="ringing"]')).to_have_text("振铃 1")
    await shots.take(page, "call-waiting-agent-ringing")

    # The agent answers: nobody waits, the agent talks, the queue's answered count goes up by one.
    await _publish(live_app, ev.CallAnswered(call_id=call_id, direction="inbound", caller="13912345678", queue=QUEUE,
                                             agent_interface=phone, wait_seconds=8.0),
                   _state(phone, "on_call", call_id=call_id))
    await expect(_tile_figure(page, "waiting")).to_have_text("0")
    await expect(_tile_figure(page, "answered")).to_have_text(str(answered_before + 1))
    await expect(row).to_have_attribute("data-state", "on_call")
    await expect(row.locator("td").nth(1)).to_have_text("通话中")
    await expect(row.locator("td.call-cell")).to_contain_text("呼入 · 理赔报案 · 通话中")
    in_state = row.locator("td").nth(2)
    await expect(in_state).to_have_text("00:00")
    await expect(in_state).to_have_text("00:02", timeout=4_000)  # ticks locally, no re-read needed
    await shots.take(page, "agent-talking")

    # 强制示忙 with no PBX node: the request goes out and the page says why nothing happened.
    force_busy = row.get_by_role("button", name="强制示忙")
    await force_busy.focus()
    async with page.expect_response(lambda r: r.url.endswith(f"/api/telephony/agents/{agent.id}/state")
                                    and r.request.method == "PUT", timeout=NO_NODE_WAIT_MS) as answer:
        await page.keyboard.press("Enter")
    response = await answer.value
    assert response.status == 503
    assert response.request.post_data_json == {"ready": False, "reason": "示忙"}
    result = page.locator("#action-result")
    await expect(result).to_contain_text("强制")
    await expect(result).to_contain_text("示忙失败。电话系统暂不可用：电话系统（节点 pbx1）未在规定时间内应答")
    await expect(result).to_have_attribute("role", "alert")
    await shots.take(page, "force-busy-no-pbx-503")

    # With a node answering: 监听 rings the lead's phone, and 强制示闲 after the call shows the new state.
    seen: list[ev.CtiCommand] = []
    async with _stand_in_node(live_app, seen):
        await row.get_by_role("button", name="监听").click()
        await expect(result).to_have_text(f"已发起对 {agent.display_name} 通话的监听，请接听您的分机。")
        spy = [c for c in seen if isinstance(c, ev.SpyCommand)]
        assert len(spy) == 1 and spy[0].call_id == call_id and spy[0].agent_interface == phone
        assert spy[0].mode == "listen"

        await _publish(live_app, ev.CallEnded(call_id=call_id, direction="inbound", answered=True, queue=QUEUE,
                                              agent_interface=phone, duration_seconds=40.0, talk_seconds=30.0),
                       _state(phone, "not_ready", reason="话后处理"))
        await expect(row.locator("td").nth(1)).to_have_text("话后处理")
        await expect(row.locator("td.call-cell")).to_have_text("—")
        await row.get_by_role("button", name="强制示闲").click()
        await expect(result).to_have_text(f"已将 {agent.display_name} 强制示闲。")
        await expect(row).to_have_attribute("data-state", "ready")
        pauses = [c for c in seen if isinstance(c, ev.PauseCommand)]
        assert [(c.interface, c.paused) for c in pauses] == [(phone, False)]
    await expect(row.locator("td").nth(3)).to_have_text(str(handled_before + 1))  # 今日通话
    await shots.take(page, "force-ready-ok")
    # The 503 is the only error the page reports; no script failed and the CSP blocked nothing.
    assert [m for m in page.errors.messages if "503" not in m] == []  # type: ignore[attr-defined]


async def test_given_agent_when_opening_wallboard_then_chinese_no_access_message(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await _log_in(page, live_app, OUTSIDER)
    async with page.expect_response("**/api/wallboard") as answer:
        await page.goto("/wallboard")
    assert (await answer.value).status == 403
    denied = page.locator("#access-denied")
    await expect(denied).to_be_visible()
    await expect(denied.locator(".notice-title")).to_have_text("无权查看班长监控墙")
    await expect(page.locator("#board-body")).to_be_hidden()
    await expect(page.locator("#user-roles")).to_have_text("坐席")
    await shots.take(page, "no-access")
    assert [m for m in page.errors.messages if "403" not in m] == []  # type: ignore[attr-defined]
