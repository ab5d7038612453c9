"""Logging in as a person would: keyboard only, in headless Chromium, Chinese text drawn with real glyphs."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import LiveApp, Screenshots

AGENT = "agent_bj_cy01"  # README's demo agent at 望京营业部
OTHER_AGENT = "agent_bj_cy"

# Draws each character of `text` on a canvas in the font `selector`'s element uses and compares the
# pixels: a character no installed font covers is drawn as the same empty box (tofu) as U+E000, a
# private-use code point, and all such characters look alike. Returns the characters drawn as tofu and
# how many distinct pictures the distinct characters gave.
GLYPHS_JS = """([selector, text]) => {
  const family = getComputedStyle(document.querySelector(selector)).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 64;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch) => {
    g.clearRect(0, 0, 64, 64);
    g.font = `48px ${family}`;
    g.fillText(ch, 4, 52);
    return g.getImageData(0, 0, 64, 64).data.join(",");
  };
  const tofu = draw("\\uE000");
  const chars = [...new Set(text.replace(/\\s/g, ""))];
  const pictures = chars.map(draw);
  return { tofu: chars.filter((_, i) => pictures[i] === tofu), distinct: new Set(pictures).size, chars: chars.length };
}"""


async def assert_chinese_drawn(page: Page, selector: str) -> None:
    text = await page.locator(selector).first.inner_text()
    result = await page.evaluate(GLYPHS_JS, [selector, text])
    assert result["tofu"] == [], f"no font draws {result['tofu']} in {selector!r} ({text!r})"
    assert result["distinct"] == result["chars"], f"{selector!r} ({text!r}) drawn with look-alike glyphs: {result}"


async def focused_id(page: Page) -> str:
    return await page.evaluate("document.activeElement && document.activeElement.id")


async def test_given_demo_agent_when_logging_in_by_keyboard_then_console_shows_who_in_chinese(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    agent = live_app.users[AGENT]
    await page.goto("/login")
    await expect(page).to_have_title("登录 · 联络")
    await expect(page.get_by_role("heading", name="坐席登录")).to_be_visible()
    await assert_chinese_drawn(page, "#login-heading")
    await assert_chinese_drawn(page, "label[for=username]")
    assert await focused_id(page) == "username"  # autofocus: typing starts at once
    await shots.take(page, "login-page")

    await page.keyboard.type(AGENT)
    await page.keyboard.press("Tab")
    assert await focused_id(page) == "password"
    await page.keyboard.type(live_app.password)
    await shots.take(page, "credentials-typed")

    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console")
    await expect(page).to_have_title("坐席工作台 · 联络")
    await expect(page.locator("#user-name")).to_have_text(agent.display_name)
    await expect(page.locator("#user-org")).to_have_text(agent.org_name)
    await expect(page.locator("#user-roles")).to_have_text("坐席")
    await expect(page.get_by_role("heading", name="客户查询")).to_be_visible()
    await assert_chinese_drawn(page, "#user-name")
    await assert_chinese_drawn(page, "#search-heading")
    await shots.take(page, "console")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_wrong_password_when_enter_pressed_then_chinese_error_and_focus_back_on_password(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await page.goto("/login")
    await page.keyboard.press("Enter")  # nothing typed yet
    await expect(page.locator("#username-error")).to_have_text("请输入用户名")
    assert await focused_id(page) == "username"
    await shots.take(page, "empty-form")

    await page.keyboard.type(OTHER_AGENT)
    await page.keyboard.press("Tab")
    await page.keyboard.type("not-the-password")
    await page.keyboard.press("Enter")
    message = page.locator("#login-message")
    await expect(message).not_to_be_empty()
    await assert_chinese_drawn(page, "#login-message")
    assert await focused_id(page) == "password"
    await expect(page.locator("#password")).to_have_value("")
    assert page.url.endswith("/login")
    await shots.take(page, "wrong-password")
    # The 401 answer is the only error the page reports; no script failed.
    assert [m for m in page.errors.messages if "401" not in m] == []  # type: ignore[attr-defined]


PAGE_LINKS = [("/console", "坐席工作台", ("customer.read",)), ("/tickets", "工单处理", ("ticket.read",)),
              ("/wallboard", "监控墙", ("call.read", "agent.supervise"))]


async def test_given_a_signed_in_user_when_alt_l_on_each_page_then_signed_out_and_back_at_login(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    for path, username in (("/console", "agent_bj_cy01"), ("/tickets", "complaint_handler_bj_cy01"),
                           ("/wallboard", "team_lead_bj")):
        r = await page.request.post("/api/auth/login", data={"username": username, "password": live_app.password})
        assert r.ok, await r.text()
        await page.goto(path)
        await expect(page.locator("#user-name")).to_have_text(live_app.users[username].display_name)
        me = await (await page.request.get("/api/auth/me")).json()
        links = page.locator(".page-links a:visible")
        expected = [label for href, label, needs in PAGE_LINKS
                    if href != path and any(p in me["permissions"] for p in needs)]
        await expect(links).to_have_text(expected)  # the other pages this user may open, and no others
        await shots.take(page, f"top-bar-{path.strip('/')}")
        await page.keyboard.press("Alt+L")
        await page.wait_for_url("**/login")
        assert (await page.request.get("/api/auth/me")).status == 401, f"still signed in after 退出 on {path}"
    await shots.take(page, "signed-out")
