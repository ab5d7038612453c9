"""The agent console pages: served, locked down by CSP, self-contained, and free of markup injection."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent_ui import pages
from backend.app import create_app
from backend.auth.deps import COOKIE_NAME
from backend.auth.permissions import Role
from tests.conftest import PASSWORD, Stack

UI_DIR = Path(pages.__file__).resolve().parent
STATIC_DIR = UI_DIR / "static"
TEMPLATES_DIR = UI_DIR / "templates"
UI_FILES = sorted(p for d in (STATIC_DIR, TEMPLATES_DIR) for p in d.rglob("*") if p.is_file())
TEMPLATES = sorted(TEMPLATES_DIR.glob("*.html"))
SCRIPTS = sorted(STATIC_DIR.rglob("*.js"))

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGES = ["/login", "/console", "/wallboard", "/tickets"]

ABSOLUTE_URL = re.compile(r"\b(?:https?|wss?|ftp)://", re.IGNORECASE)
PROTOCOL_RELATIVE = re.compile(r"(?<![:/\w])//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)
EVENT_ATTR = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STATIC_REF = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"'?#]+)""", re.IGNORECASE)
MODULE_IMPORT = re.compile(r"""\bfrom\s+["'](\./[^"']+)["']""")
HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment")

JS_TYPES = {"text/javascript", "application/javascript"}
TYPES_BY_SUFFIX = {".js": JS_TYPES, ".css": {"text/css"}}


def _media_type(r: httpx.Response) -> str:
    return r.headers.get("content-type", "").split(";")[0].strip().lower()


@pytest.fixture
async def browser(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an empty cookie jar, like a browser opening the console for the first time."""
    app = create_app(stack.ctx, own_context=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lianluo.test") as client:
        yield client


async def test_given_browser_when_opening_login_then_chinese_login_page(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/login")
    assert r.status_code == 200
    assert _media_type(r) == "text/html"
    assert 'lang="zh-CN"' in r.text
    assert "登录" in r.text and "用户名" in r.text and "密码" in r.text
    assert re.search(r"<input[^>]*id=\"username\"[^>]*autofocus", r.text, re.DOTALL)


async def test_given_browser_when_opening_console_then_chinese_console_page(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/console")
    assert r.status_code == 200
    assert _media_type(r) == "text/html"
    assert 'lang="zh-CN"' in r.text
    for text in ("客户查询", "客户全景", "退出", "来电号码", "证件号", "保单号", "车牌号", "姓名"):
        assert text in r.text
    for field in ("phone", "id_number", "policy_number", "plate_number", "name"):
        assert f'<option value="{field}">' in r.text


async def test_given_no_cookie_when_opening_root_then_redirected_to_login(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/")
    assert r.is_redirect
    assert r.headers["location"] == "/login"


async def test_given_session_cookie_when_opening_root_then_redirected_to_console(stack: Stack) -> None:
    token = await stack.token(stack.users[(Role.agent, "outlet")])
    app = create_app(stack.ctx, own_context=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lianluo.test",
                                 cookies={COOKIE_NAME: token}) as client:
        r = await client.get("/")
    assert r.is_redirect
    assert r.headers["location"] == "/console"


@pytest.mark.parametrize("path", PAGES)
async def test_given_page_when_served_then_strict_csp_and_security_headers(browser: httpx.AsyncClient,
                                                                           path: str) -> None:
    r = await browser.get(path)
    assert r.headers["content-security-policy"] == EXPECTED_CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_given_url_patterns_when_checked_then_they_catch_cdn_references_and_spare_comments() -> None:
    assert ABSOLUTE_URL.search('<script src="https://cdn.example.com/x.js">')
    assert ABSOLUTE_URL.search("@import url(http://fonts.example.com/a.css);")
    assert PROTOCOL_RELATIVE.search('<link href="//cdn.example.com/a.css">')
    assert PROTOCOL_RELATIVE.search("@import url(//fonts.example.com/a.css);")
    assert not PROTOCOL_RELATIVE.search("// a comment about example.com")
    assert not PROTOCOL_RELATIVE.search("/* block comment */")


def test_given_ui_files_when_scanned_then_no_absolute_or_protocol_relative_urls() -> None:
    assert UI_FILES
    offenders = []
    for path in UI_FILES:
        text = path.read_text(encoding="utf-8")
        for pattern in (ABSOLUTE_URL, PROTOCOL_RELATIVE):
            offenders += [f"{path.relative_to(UI_DIR)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def _inline_code(html: str) -> list[str]:
    found = []
    for attrs, body in SCRIPT_TAG.findall(html):
        if body.strip() or "src=" not in attrs:
            found.append(f"inline <script{attrs}>")
    found += [f"style attribute: {m.group(0)}" for m in STYLE_ATTR.finditer(html)]
    found += ["<style> element" for _ in STYLE_TAG.finditer(html)]
    found += [f"event handler attribute: {m.group(0)}" for m in EVENT_ATTR.finditer(html)]
    return found


def test_given_templates_when_scanned_then_no_inline_scripts_styles_or_handlers() -> None:
    assert TEMPLATES
    for path in TEMPLATES:
        assert _inline_code(path.read_text(encoding="utf-8")) == [], path.name


@pytest.mark.parametrize("path", PAGES)
async def test_given_rendered_page_when_scanned_then_only_module_scripts_from_static(browser: httpx.AsyncClient,
                                                                                    path: str) -> None:
    html = (await browser.get(path)).text
    assert _inline_code(html) == []
    scripts = SCRIPT_TAG.findall(html)
    assert scripts
    for attrs, _body in scripts:
        assert 'type="module"' in attrs and 'src="/static/js/' in attrs


@pytest.mark.parametrize("path", PAGES)
async def test_given_page_when_its_static_references_are_fetched_then_each_is_served_with_its_type(
        browser: httpx.AsyncClient, path: str) -> None:
    html = (await browser.get(path)).text
    refs = set(STATIC_REF.findall(html))
    assert {Path(r).suffix for r in refs} >= {".js", ".css"}
    # Modules a page script imports are fetched too: follow them.
    pending = sorted(refs)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        r = await browser.get(ref)
        assert r.status_code == 200, ref
        assert _media_type(r) in TYPES_BY_SUFFIX.get(Path(ref).suffix, {_media_type(r)}), (ref, _media_type(r))
        assert r.headers["x-content-type-options"] == "nosniff"
        if ref.endswith(".js"):
            base = ref.rsplit("/", 1)[0]
            pending += [f"{base}/{name[2:]}" for name in MODULE_IMPORT.findall(r.text)]
    assert "/static/js/api.js" in seen


async def test_given_unknown_static_file_when_fetched_then_404(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/static/js/missing.js")).status_code == 404


def test_given_static_scripts_when_scanned_then_no_html_injection_sinks() -> None:
    assert {p.name for p in SCRIPTS} >= {"api.js", "login.js", "console.js"}
    offenders = [f"{p.name}: {sink}" for p in SCRIPTS for sink in HTML_SINKS if sink in p.read_text(encoding="utf-8")]
    assert offenders == []


async def test_given_login_in_browser_when_console_asks_who_is_signed_in_then_cookie_suffices(
        browser: httpx.AsyncClient, stack: Stack) -> None:
    username = stack.users[(Role.agent, "outlet")]
    r = await browser.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    assert COOKIE_NAME in browser.cookies
    me = await browser.get("/api/auth/me")
    assert me.status_code == 200
    body = me.json()
    assert body["display_name"] and body["org_name"] and body["role_labels"] == ["坐席"]
    assert "customer.read" in body["permissions"]
    assert (await browser.get("/")).headers["location"] == "/console"


async def test_given_field_staff_when_searching_customers_then_403_problem_for_the_console_to_show(
        stack: Stack) -> None:
    surveyor = stack.users[(Role.field_staff, "outlet")]
    me = (await stack.get(surveyor, "/api/auth/me")).json()
    assert "customer.read" not in me["permissions"]
    r = await stack.get(surveyor, "/api/customers", params={"phone": "13800138000"})
    assert r.status_code == 403
    assert _media_type(r) == "application/problem+json"
    assert r.json()["detail"]
