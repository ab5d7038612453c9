"""The console's smart-entry form (智能录入) in headless Chromium: type fields and policy facts, the cause →
sub-cause cascade and the knowledge-base panel, validation as the agent types (and validate.js against the
server's rules), and the server's field errors landing on their fields. Its drafts: test_entry_drafts.py."""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from playwright.async_api import Page, Route, expect
from sqlalchemy import func, select

from backend.auth.models import User
from backend.directory.identity import id_check_digit, id_number_problem, phone_problem, plate_problem
from backend.directory.models import Customer, Policy
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from tests.browser.conftest import LiveApp, Screenshots
from tests.browser.test_console_screenpop import AGENT, XSS, agent_phone, log_in, ring

MANAGER = "org_manager_bj_cy01"  # the agent's outlet: writes and publishes knowledge there
FORM_OPEN_JS = """() => {
  const work = document.getElementById("entry-work");
  return work && !work.hidden && document.querySelectorAll("#entry-fields [data-field]").length > 0;
}"""
SAVED = re.compile(r"^已自动保存 \d\d:\d\d:\d\d$")


def field(page: Page, name: str) -> Any:
    """The control of a form field by its API name (``details.cause`` → ``#ef-details-cause``)."""
    return page.locator(f"#ef-{re.sub(r'[^A-Za-z0-9_]', '-', name)}")


def error_of(page: Page, name: str) -> Any:
    return page.locator(f"#ef-{re.sub(r'[^A-Za-z0-9_]', '-', name)}-error")


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


async def motor_caller(live: LiveApp) -> tuple[int, str]:
    """A customer of the agent's outlet holding a motor policy with a plate, whose mobile names nobody else."""
    async with live.ctx.db.session(scope=Scope.everything()) as session:
        path = await session.scalar(select(Org.path).join(User, User.org_id == Org.id).where(User.username == AGENT))
        unique = select(Customer.mobile).group_by(Customer.mobile).having(func.count() == 1)
    async with live.ctx.db.session(scope=Scope.subtree(path)) as session:
        row = (await session.execute(
            select(Customer.id, Customer.mobile).join(Policy, Policy.holder_id == Customer.id)
            .where(Customer.mobile.in_(unique), Policy.line == "motor", Policy.plate_number.is_not(None))
            .order_by(Customer.id).limit(1))).first()
    assert row is not None, "the seed gave the agent's outlet no motor policy with a plate"
    return row[0], row[1]


@contextlib.asynccontextmanager
async def as_user(live: LiveApp, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url) as client:
        r = await client.post("/api/auth/login", json={"username": username, "password": live.password})
        assert r.status_code == 200, r.text
        yield client


async def clear_drafts(live: LiveApp) -> None:
    """The agent's drafts from earlier tests (the live app is shared) would be offered back first."""
    async with as_user(live, AGENT) as client:
        for draft in (await client.get("/api/drafts", params={"prefix": "ticket:"})).json():
            assert (await client.delete(f"/api/drafts/{draft['form_key']}")).status_code == 204


async def open_from_call(page: Page, live: LiveApp, call_id: str, action: str, mobile: str) -> None:
    await clear_drafts(live)
    await log_in(page, live)
    await ring(live, call_id, mobile, await agent_phone(live), IVR_SERVICE="投诉")
    # Generous: the pop's own latency is checked in test_console_screenpop; here the machine may be busy.
    await expect(page.locator("#quick-actions button")).to_have_count(3, timeout=10_000)
    await page.locator(f"#quick-actions button[data-action='{action}']").click()
    await page.wait_for_function(FORM_OPEN_JS)


async def open_blank(page: Page, live: LiveApp) -> None:
    await clear_drafts(live)
    await log_in(page, live)
    await page.keyboard.press("Alt+N")
    await page.wait_for_function(FORM_OPEN_JS)
    await expect(field(page, "subject")).to_be_focused()


async def get_json(page: Page, url: str, **params: str) -> Any:
    response = await page.request.get(url, params=params or None)
    assert response.ok, await response.text()
    return await response.json()


async def local_copy(page: Page, key: str) -> Any:
    """The browser's copy of a draft (localStorage), or None."""
    raw = await page.evaluate("(key) => window.localStorage.getItem(key)", f"lianluo.form.{key}")
    return json.loads(raw) if raw else None


async def test_given_claim_report_action_when_policy_chosen_then_claim_fields_and_policy_facts_shown(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    customer_id, mobile = await motor_caller(live_app)
    await open_from_call(page, live_app, "call-entry-claim", "new_claim_report", mobile)
    await expect(page.locator("#entry-heading")).to_have_text("智能录入 · 报案")
    await expect(page.locator("#entry-type")).to_have_value("claim_report")
    await expect(field(page, "details.accident_at")).to_have_attribute("type", "datetime-local")
    await expect(field(page, "details.accident_place")).to_be_visible()
    await expect(field(page, "details.injury")).to_have_attribute("type", "checkbox")
    await expect(field(page, "details.drivable").locator("option")).to_have_text(["未知", "是", "否"])
    await expect(page.locator("label[for='ef-details-accident_at']")).to_contain_text("必填")
    # The caller's number is masked for agents: shown read-only, and the server registers it from the customer.
    await expect(field(page, "complainant_phone")).to_have_js_property("readOnly", True)
    await expect(page.locator("#ef-complainant_phone-hint")).to_have_text("（已脱敏，按客户档案登记）")
    await shots.take(page, "claim-report-form")

    policies = await get_json(page, f"/api/customers/{customer_id}/policies")
    motor = next(p for p in policies if p["line"] == "motor" and p["plate_number"])
    await page.locator("#entry-policy-pick").select_option(motor["policy_number"])
    await expect(field(page, "policy_number")).to_have_value(motor["policy_number"])
    facts = page.locator("#entry-policy-facts")
    for key, value in (("holder", motor["holder_name"]), ("insured", motor["insured_name"]),
                       ("product", motor["product_name"]), ("line", motor["line_label"]), ("org", motor["org_name"]),
                       ("agent", motor["sales_agent_name"])):
        await expect(facts.locator(f"[data-fact='{key}'] dd")).to_contain_text(value or "—")
    await expect(field(page, "details.plate")).to_have_value(motor["plate_number"])
    await shots.take(page, "policy-chosen")

    # Another type keeps the common fields and takes what the policy implies for it.
    name = await field(page, "complainant_name").input_value()
    await page.locator("#entry-type").select_option("complaint")
    await expect(page.locator("#entry-heading")).to_have_text("智能录入 · 消费投诉")
    await expect(field(page, "details.plate")).to_have_count(0)
    await expect(field(page, "complainant_name")).to_have_value(name)
    await expect(field(page, "policy_number")).to_have_value(motor["policy_number"])
    await expect(field(page, "details.line_of_business")).to_have_value("motor")
    await shots.take(page, "switched-to-complaint")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def publish_article(live: LiveApp, title: str, body_html: str) -> int:
    async with as_user(live, MANAGER) as client:
        r = await client.post("/api/kb/articles", json={"category": "handling_experience", "title": title,
                                                         "summary": "与客户沟通理赔进度", "body_html": body_html})
        assert r.status_code == 201, r.text
        article_id = r.json()["id"]
        for action in ("submit", "publish"):
            r = await client.post(f"/api/kb/articles/{article_id}/{action}", json={})
            assert r.status_code == 200, r.text
    return int(article_id)


async def test_given_complaint_form_when_cause_chosen_then_sub_causes_follow_and_knowledge_suggested(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await publish_article(live_app, "理赔时效过长的沟通要点",
                          "<h2>要点</h2><p>先核实<strong>材料</strong>是否齐全。</p><ul><li>告知进度</li><li>记录诉求</li></ul>"
                          f"<p>{html.escape(XSS)}</p><img src=x onerror=alert(1)>")
    await open_blank(page, live_app)
    codes = await get_json(page, "/api/codes/complaint_cause")
    labels = {c["code"]: c["label"] for c in codes}

    def under(parent: str | None) -> list[str]:
        return [c["label"] for c in codes if c["parent_code"] == parent]

    sub = field(page, "details.sub_cause")
    await expect(sub).to_be_disabled()
    await expect(field(page, "details.cause").locator("option")).to_have_text(["请选择", *under(None)])
    await field(page, "details.cause").select_option("claims")
    await expect(sub).to_be_enabled()
    await expect(sub.locator("option")).to_have_text(["请选择", *under("claims")])
    await sub.select_option("claim_too_slow")
    await expect(page.locator("#kb-query")).to_have_value(labels["claim_too_slow"])
    hit = page.locator("#kb-hits button.kb-hit").filter(has_text="理赔时效过长的沟通要点")
    await expect(hit).to_be_visible()
    await shots.take(page, "cause-and-knowledge")

    # A cause whose sub-causes differ clears the one chosen.
    await field(page, "details.cause").select_option("sales")
    await expect(sub).to_have_value("")
    await expect(sub.locator("option")).to_have_text(["请选择", *under("sales")])

    await expect(page.locator("#kb-query")).to_have_value(labels["sales"])
    await expect(page.locator("#kb-status")).to_have_text("未找到相关知识")

    # Alt+K: the search box, for the agent's own words; the article is rebuilt from text, with no markup of its own.
    await page.keyboard.press("Alt+K")
    await expect(page.locator("#kb-query")).to_be_focused()
    await page.keyboard.type("理赔时效")
    await page.keyboard.press("Enter")
    await hit.click()
    body = page.locator("#kb-article-body")
    await expect(page.locator("#kb-article-title")).to_have_text("理赔时效过长的沟通要点")
    await expect(body.locator("li")).to_have_text(["告知进度", "记录诉求"])
    await expect(body.locator("strong")).to_have_text("材料")
    await expect(body).to_contain_text(XSS)
    assert await page.locator("#entry-kb img, #entry-kb [onerror]").count() == 0
    await shots.take(page, "article-open")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_wrong_id_phone_and_plate_when_typed_then_errors_under_fields_until_fixed(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await open_blank(page, live_app)
    id_number = field(page, "complainant_id_number")
    good = valid_id("11010519491231002")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    await id_number.fill(wrong)
    await expect(error_of(page, "complainant_id_number")).to_have_text("身份证号码校验位错误")
    await expect(id_number).to_have_attribute("aria-invalid", "true")
    assert "ef-complainant_id_number-error" in (await id_number.get_attribute("aria-describedby") or "")
    await shots.take(page, "id-checksum-error")
    await id_number.fill(good)
    await expect(error_of(page, "complainant_id_number")).to_have_text("")
    await expect(id_number).not_to_have_attribute("aria-invalid", "true")
    await id_number.fill(valid_id("11010519490230002"))
    await expect(error_of(page, "complainant_id_number")).to_have_text("身份证号码中的出生日期无效")

    phone = field(page, "complainant_phone")
    await phone.fill("1234567")
    await phone.press("Tab")  # on blur, at once
    await expect(error_of(page, "complainant_phone")).to_contain_text("电话号码格式不正确")
    await phone.fill("010-12345678")
    await expect(error_of(page, "complainant_phone")).to_have_text("")

    await page.locator("#entry-type").select_option("claim_report")
    plate = field(page, "details.plate")
    await plate.fill("京A1234")
    await expect(error_of(page, "details.plate")).to_have_text("车牌号格式不正确")
    await shots.take(page, "plate-error")
    await plate.fill("京AD12345")  # new-energy plates have 8 characters
    await expect(error_of(page, "details.plate")).to_have_text("")

    # Submitting with required fields empty is refused, with the first of them focused.
    await page.keyboard.press("Control+Enter")
    await expect(page.locator("#entry-errors")).to_contain_text("处需要更正")
    await expect(field(page, "subject")).to_be_focused()
    await expect(error_of(page, "subject")).to_have_text("此项为必填项")
    await expect(error_of(page, "details.accident_at")).to_have_text("此项为必填项")
    await shots.take(page, "required-refused")
    assert page.errors.messages == []  # type: ignore[attr-defined]


async def test_given_validate_module_when_run_in_page_then_it_agrees_with_the_server_rules(page: Page) -> None:
    await page.goto("/login")  # the pages' CSP applies to the import
    ids = [valid_id("11010519491231002"), valid_id("44030420000229123"), valid_id("32010219900101123"),
           valid_id("11010519490230002"), valid_id("11010518991231002"), valid_id("11010530001231002"),
           "110105194912310021", "11010519491231002x", "1101051949123100", "11010519491231002X ", "abc"]
    ids += [i[:17] + c for i in ids[:2] for c in "0123456789X"]  # every wrong check character too
    plates = ["京A12345", "京AD12345", "粤B12345F", "沪AF1234", "京I12345", "京A1234", "京A123456", "A12345", "京a12345"]
    # 400/800 numbers are the company's, not a customer's: refused by the form as by the server
    phones = ["13800138000", "138-0013-8000", "+8613800138000", "010-12345678", "07551234567", "12345", "0101234",
              "400-800-1234", "4008001234", "800-810-8888"]
    got = await page.evaluate("""async ([ids, plates, phones]) => {
      const v = await import("/static/js/entry/validate.js");
      return { ids: ids.map((x) => v.idNumberProblem(x)), plates: plates.map((x) => v.plateProblem(x)),
               phones: phones.map((x) => v.phoneProblem(x)),
               digit: v.idCheckDigit("11010519491231002") };
    }""", [ids, plates, phones])
    assert got["ids"] == [id_number_problem(i) for i in ids]
    assert got["plates"] == [plate_problem(p) for p in plates]
    assert got["phones"] == [phone_problem(p) for p in phones]
    assert got["digit"] == id_check_digit("11010519491231002")
    assert set(got["ids"]) == {None, "身份证号码应为 18 位（前 17 位为数字，末位为数字或 X）", "身份证号码中的出生日期无效",
                               "身份证号码校验位错误"}  # every outcome is covered


async def test_given_server_field_errors_when_submitting_then_they_land_on_their_fields_once(
        page: Page, live_app: LiveApp, shots: Screenshots) -> None:
    await open_blank(page, live_app)
    await page.locator("#entry-type").select_option("claim_report")
    await field(page, "subject").fill("车辆追尾报案")
    await field(page, "details.accident_at").fill("2024-05-01T10:30")
    await field(page, "details.accident_place").fill("北京市朝阳区望京街")
    await field(page, "details.drivable").select_option("false")
    posted: list[dict[str, Any]] = []
    states: list[bool] = []

    async def refuse(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        posted.append(route.request.post_data_json)
        states.append(await page.locator("#entry-submit").is_disabled())
        await page.keyboard.press("Control+Enter")  # a second press while the first is in flight
        await route.fulfill(status=422, content_type="application/problem+json", body=json.dumps({
            "title": "请求参数无效", "status": 422, "detail": "details.accident_at: 出险时间不能晚于受理时间",
            "errors": [{"field": "details.accident_at", "message": "出险时间不能晚于受理时间", "type": "value_error"}]}))

    await page.route("**/api/tickets", refuse)
    await page.keyboard.press("Control+Enter")
    await expect(error_of(page, "details.accident_at")).to_have_text("出险时间不能晚于受理时间")
    await expect(field(page, "details.accident_at")).to_have_attribute("aria-invalid", "true")
    await expect(field(page, "details.accident_at")).to_be_focused()
    await expect(page.locator("#entry-errors")).to_contain_text("提交未成功")
    await expect(page.locator("#entry-submit")).to_be_enabled()
    await shots.take(page, "server-error-on-field")
    assert states == [True] and len(posted) == 1
    body = posted[0]
    assert (body["type"], body["submit"], body["subject"], body["channel"]) == ("claim_report", True, "车辆追尾报案",
                                                                                "hotline")
    assert body["details"] == {"accident_at": "2024-05-01T10:30:00+08:00", "accident_place": "北京市朝阳区望京街",
                               "drivable": False, "injury": False, "police_called": False}
    assert [m for m in page.errors.messages if "status of 422" not in m] == []  # type: ignore[attr-defined]
