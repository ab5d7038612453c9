"""The smart-entry form's drafts in headless Chromium: autosave to server and browser, restore in a new tab
and submit, the server failing, a stale version, discard, Esc keeping what was typed, and a call's draft
offered back when the same quick action is opened again."""

from __future__ import annotations

import asyncio
import json
import re

from playwright.async_api import Page, Route, expect

from tests.browser.conftest import LiveApp, Screenshots, open_tab
from tests.browser.test_console_screenpop import XSS, caller_with_policies, log_in, no_call_on_the_phone
from tests.browser.test_entry import (
    FORM_OPEN_JS,
    SAVED,
    clear_drafts,
    field,
    get_json,
    local_copy,
    open_blank,
    open_from_call,
)


async def test_given_autosaved_form_when_tab_closed_then_new_tab_restores_every_field_and_submits(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    caller = await caller_with_policies(live_app, skip=4)
    dialogs: list[str] = []
    await open_from_call(page, live_app, "call-entry-restore", "new_complaint", caller.mobile)
    key = "ticket:complaint:call:call-entry-restore"
    await page.evaluate("() => { document.getElementById('entry-form').dataset.autosaveSeconds = '1'; }")
    await field(page, "subject").fill(XSS)
    await field(page, "demand").fill("要求说明理赔进度")
    policy = await page.locator("#entry-policy-pick option").nth(1).get_attribute("value")
    await page.locator("#entry-policy-pick").select_option(policy)
    await field(page, "details.cause").select_option("claims")
    await field(page, "details.sub_cause").select_option("claim_too_slow")
    await expect(page.locator("#entry-autosave")).to_have_text(SAVED)
    await shots.take(page, "autosaved")
    draft = await get_json(page, f"/api/drafts/{key}")
    values = draft["payload"]["values"]
    assert (values["subject"], values["details.sub_cause"], values["policy_number"]) == (XSS, "claim_too_slow", policy)
    assert XSS in draft["title"]
    assert (await local_copy(page, key))["payload"]["values"]["subject"] == XSS
    name = await field(page, "complainant_name").input_value()
    line = await field(page, "details.line_of_business").input_value()
    holder = await page.locator("#entry-policy-facts [data-fact='holder'] dd").inner_text()
    await page.close()

    tab = await open_tab(page.context)
    tab.on("dialog", lambda d: dialogs.append(d.message))
    await tab.goto("/console")
    banner = tab.locator("#entry-restore-text")
    await expect(banner).to_have_text(re.compile(rf"^发现未提交的草稿《消费投诉：{re.escape(XSS)}》（保存于 .+）$"))
    await expect(tab.locator("#entry-restore-yes")).to_be_focused()
    await shots.take(tab, "restore-offered")
    await tab.keyboard.press("Enter")
    await tab.wait_for_function(FORM_OPEN_JS)
    for name_, value in (("subject", XSS), ("demand", "要求说明理赔进度"), ("complainant_name", name),
                         ("policy_number", policy), ("details.cause", "claims"),
                         ("details.sub_cause", "claim_too_slow"), ("details.line_of_business", line)):
        await expect(field(tab, name_)).to_have_value(value)
    await expect(tab.locator("#entry-policy-pick")).to_have_value(policy)
    await expect(tab.locator("#entry-policy-facts [data-fact='holder'] dd")).to_have_text(holder)
    await expect(tab.locator("#entry-facts")).to_contain_text("call-entry-restore")
    await shots.take(tab, "restored")

    await field(tab, "subject").focus()
    await tab.keyboard.press("Control+Enter")
    result = tab.locator("#entry-result")
    await expect(result).to_have_text(re.compile(r"^已登记 \S+，处理时限 \d{4}-\d\d-\d\d \d\d:\d\d$"))
    await expect(tab.locator("#entry-work")).to_be_hidden()
    await shots.take(tab, "submitted")
    number = re.sub(r"^已登记 (\S+)，.*$", r"\1", await result.inner_text())
    tickets = await get_json(tab, "/api/tickets", number=number)
    assert [(t["status"], t["call_id"], t["customer_id"], t["subject"], t["policy_number"], t["details"]["cause"],
             t["details"]["sub_cause"]) for t in tickets] == [
        ("open", "call-entry-restore", caller.customer_id, XSS, policy, "claims", "claim_too_slow")]
    assert (await tab.request.get(f"/api/drafts/{key}")).status == 404
    assert await local_copy(tab, key) is None
    assert await tab.locator("img").count() == 0
    assert dialogs == []
    assert tab.errors.messages == []  # type: ignore[attr-defined]


async def test_given_saved_draft_when_server_fails_stale_or_discarded_then_browser_copy_holds_and_both_go(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await open_blank(page, live_app)
    new_id = json.loads(await page.evaluate("() => sessionStorage.getItem('lianluo.entry.new-id')"))
    key = f"ticket:complaint:new:{new_id}"
    await field(page, "subject").fill("客户咨询退保手续")

    async def unavailable(route: Route) -> None:
        await route.fulfill(status=503, content_type="application/problem+json",
                            body=json.dumps({"title": "服务暂不可用", "status": 503, "detail": "数据库不可用"}))

    await page.route("**/api/drafts/**", unavailable)
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text("暂存到服务器失败，已保存在本机")
    assert (await local_copy(page, key))["payload"]["values"]["subject"] == "客户咨询退保手续"
    await shots.take(page, "server-failed")
    await page.unroute("**/api/drafts/**")
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text(re.compile(r"^已暂存 \d\d:\d\d:\d\d$"))
    assert (await get_json(page, f"/api/drafts/{key}"))["version"] == 1

    # Another tab saved the same form since: this tab takes the newer version number and its copy wins.
    other = await page.request.put(f"/api/drafts/{key}", data={"payload": {"v": 1}, "title": "另一标签页"})
    assert (await other.json())["version"] == 2
    await field(page, "subject").fill("客户咨询退保手续及到账时间")
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text(re.compile(r"^已暂存 \d\d:\d\d:\d\d$"))
    saved = await get_json(page, f"/api/drafts/{key}")
    assert (saved["version"], saved["payload"]["values"]["subject"]) == (3, "客户咨询退保手续及到账时间")

    await page.reload()
    await expect(page.locator("#entry-restore-text")).to_contain_text("客户咨询退保手续及到账时间")
    await expect(page.locator("#entry-restore-yes")).to_be_focused()
    await page.locator("#entry-restore-no").click()
    await expect(page.locator("#entry-restore")).to_be_hidden()
    await shots.take(page, "discarded")
    assert (await page.request.get(f"/api/drafts/{key}")).status == 404
    assert await local_copy(page, key) is None
    # Chromium logs the refused requests (503, 409) the test provoked; nothing else may go wrong.
    assert [m for m in page.errors.messages if not re.search(r"status of (503|409)", m)] == []  # type: ignore[attr-defined]


async def test_given_no_call_when_alt_n_after_customer_search_then_complaint_for_that_customer(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    caller = await caller_with_policies(live_app, skip=5)
    await clear_drafts(live_app)
    await log_in(page, live_app)
    await no_call_on_the_phone(page, live_app)
    await page.evaluate("() => sessionStorage.clear()")  # the tab kept the call the console showed at sign-in
    await page.reload()
    await page.locator("#search-value").fill(caller.mobile)
    await page.keyboard.press("Enter")
    await expect(page.locator("#panel-body")).to_be_visible()
    name = await page.locator("#identity-heading").inner_text()
    await page.keyboard.press("Alt+N")
    await page.wait_for_function(FORM_OPEN_JS)
    await expect(field(page, "complainant_name")).to_have_value(name)
    await expect(page.locator("#entry-policy-pick option")).not_to_have_count(1)
    await expect(page.locator("#entry-facts")).to_contain_text(name)
    await field(page, "subject").fill("保单贷款利率咨询")
    await page.keyboard.press("Escape")
    await expect(page.locator("#entry-work")).to_be_hidden()
    await shots.take(page, "closed-by-escape")
    titles: list[str] = []
    for _ in range(50):  # Esc keeps what was typed: saved on the way out, without holding the agent up
        titles = [d["title"] for d in await get_json(page, "/api/drafts", prefix="ticket:complaint:new:")]
        if titles:
            break
        await asyncio.sleep(0.1)
    assert titles == ["消费投诉：保单贷款利率咨询"]
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_call_draft_when_same_quick_action_opened_after_reload_then_offered_in_form_and_restored(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    caller = await caller_with_policies(live_app, skip=6)
    await open_from_call(page, live_app, "call-entry-again", "new_complaint", caller.mobile)
    await field(page, "subject").fill("要求撤销续保扣款")
    await field(page, "details.cause").select_option("renewal")
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text(re.compile(r"^已暂存 "))

    await field(page, "subject").press_sequentially("并退款")  # not saved yet: leaving the page saves it
    await page.reload()  # the call stays on the card; its draft is offered at start
    await expect(page.locator("#entry-restore-text")).to_contain_text("要求撤销续保扣款并退款")
    await expect(page.locator("#quick-actions button")).to_have_count(3)
    await page.locator("#quick-actions button[data-action='new_complaint']").click()
    await page.wait_for_function(FORM_OPEN_JS)
    # The form opens filled from the call, and the same call's draft is offered for it; nothing overwrites it.
    await expect(page.locator("#entry-restore-text")).to_contain_text("要求撤销续保扣款并退款")
    await expect(page.locator("#entry-restore-yes")).to_be_focused()
    await expect(field(page, "subject")).to_have_value("")
    await shots.take(page, "offered-in-form")
    await page.keyboard.press("Enter")
    await expect(field(page, "subject")).to_have_value("要求撤销续保扣款并退款")
    await expect(field(page, "details.cause")).to_have_value("renewal")
    await expect(page.locator("#entry-restore")).to_be_hidden()
    await expect(page.locator("#entry-autosave")).to_contain_text("已恢复保存于")
    await shots.take(page, "restored-in-form")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_shared_browser_when_next_user_signs_in_then_last_users_browser_copy_not_offered(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await open_blank(page, live_app)
    await field(page, "subject").fill("客户要求更正保单地址")
    await page.route("**/api/drafts/**", lambda route: route.abort())  # the server never gets it
    await page.keyboard.press("Control+S")
    await expect(page.locator("#entry-autosave")).to_have_text("暂存到服务器失败，已保存在本机")
    await page.unroute("**/api/drafts/**")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Alt+L")
    await page.wait_for_url("**/login")

    # A colleague signs in at the same desk: the agent's browser copy is not theirs to see.
    await page.locator("#username").fill("complaint_handler_bj_cy01")
    await page.locator("#password").fill(live_app.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console")
    await expect(page.locator("#connection")).to_have_text("已连接")
    await expect(page.locator("#entry-restore")).to_be_hidden()
    await shots.take(page, "colleague-sees-nothing")
    await page.keyboard.press("Alt+L")
    await page.wait_for_url("**/login")

    await log_in(page, live_app)  # the agent is back: their copy is offered
    await expect(page.locator("#entry-restore-text")).to_contain_text("客户要求更正保单地址")
    await page.locator("#entry-restore-no").click()
    await expect(page.locator("#entry-restore")).to_be_hidden()
    assert await page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('lianluo.form.'))") == []
    # The aborted saves, and the handler's console asking for a phone state their role may not read.
    assert [m for m in page.errors.messages  # type: ignore[attr-defined]
            if "ERR_FAILED" not in m and "status of 403" not in m] == []
