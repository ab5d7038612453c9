"""Browser tests: the real app on a loopback port, driven by Playwright in Debian's headless Chromium.

``live_app`` serves the platform with uvicorn on 127.0.0.1 (a free port) against a fresh SQLite file
seeded with the demo insurer (demo logins and password, fewer customers), in the test session's event
loop, so a test can also reach its context (database, bus). ``page`` is a 1280×720 zh-CN tab in
Chromium started from ``/usr/bin/chromium`` (``LIANLUO_CHROMIUM`` overrides), never a browser that
Playwright downloads. ``shots`` saves numbered screenshots of each step under
``$ARTIFACTS_DIR/browser/<test>/`` (default ``var/test-artifacts``), plus ``failed.png`` when a test fails.

Chromium missing: skipped with the reason, or failed when ``LIANLUO_TEST_REQUIRE`` names ``chromium``
(``make test`` does, after installing it).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page, async_playwright
from sqlalchemy import select

from backend.app import create_app
from backend.auth.models import User
from backend.core.context import AppContext
from backend.core.settings import Settings
from backend.migrations import upgrade_async
from backend.orgs.scope import Scope
from backend.seed.builder import seed
from tests import backends

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR") or REPO / "var" / "test-artifacts") / "browser"
VIEWPORT = {"width": 1280, "height": 720}
# Root in CI: no sandbox. No background networking: this machine's network is closed, and Chromium's
# own calls home would only fail, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DEMO_CUSTOMERS = 200
DEMO_POLICIES = 400


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("LIANLUO_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    org_name: str


@dataclass
class LiveApp:
    """The platform serving on loopback, with the seeded demo users' password."""

    url: str
    ctx: AppContext
    password: str
    users: dict[str, DemoUser] = field(default_factory=dict)


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave Ctrl+C to pytest: the server stops with the session, not on its own.
        yield


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
async def live_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApp]:
    data_dir = tmp_path_factory.mktemp("browser-app")
    settings = Settings(data_dir=data_dir, database_url=f"sqlite+aiosqlite:///{data_dir}/lianluo.db",
                        bus_url="memory://", secret_key="browser-test-signing-key-0123456789abcdef")
    password = settings.demo_password.get_secret_value()
    await upgrade_async(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    await seed(ctx.db, seed=settings.demo_seed, customers=DEMO_CUSTOMERS, policies=DEMO_POLICIES, password=password)
    async with ctx.db.session(scope=Scope.everything()) as session:
        users = {u.username: DemoUser(u.username, u.display_name, u.org.name)
                 for u in (await session.scalars(select(User))).all()}
    sock = _loopback_socket()
    host, port = sock.getsockname()
    server = _Server(uvicorn.Config(create_app(ctx, own_context=False), log_config=None, access_log=False,
                                    lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]), name="browser-test-http")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # raises why the server did not start
        raise RuntimeError("the test server stopped before it started")
    try:
        yield LiveApp(url=f"http://{host}:{port}", ctx=ctx, password=password, users=users)
    finally:
        server.should_exit = True
        await task
        sock.close()
        await ctx.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        reason = "Debian's chromium not found (apt-get install -y chromium, or set LIANLUO_CHROMIUM)"
        if "chromium" in backends.REQUIRED:
            pytest.fail(f"required: {reason}")
        pytest.skip(reason)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        backends.ran.add("headless chromium")
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class PageErrors:
    """Uncaught exceptions and console errors (a CSP violation is one) seen by the page."""

    messages: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")

    def on_page_error(self, error: Error) -> None:
        self.messages.append(f"uncaught: {error}")


async def open_tab(context: BrowserContext) -> Page:
    """A new tab of ``context`` that keeps its script errors in ``tab.errors``."""
    tab = await context.new_page()
    errors = PageErrors()
    tab.on("console", errors.on_console)
    tab.on("pageerror", errors.on_page_error)
    tab.errors = errors  # type: ignore[attr-defined]
    return tab


async def new_context(browser: Browser, live_app: LiveApp) -> BrowserContext:
    """A browser profile of its own (cookies, storage), as a second person at a second desk has."""
    context = await browser.new_context(base_url=live_app.url, viewport=VIEWPORT, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    context.set_default_timeout(5_000)
    return context


@pytest.fixture
async def page(browser: Browser, live_app: LiveApp, request: pytest.FixtureRequest,
               shots: Screenshots) -> AsyncIterator[Page]:
    context = await new_context(browser, live_app)
    tab = await open_tab(context)
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed and not tab.is_closed():
            await shots.take(tab, "failed")
        await context.close()


class Screenshots:
    """Numbered full-page screenshots of one test's steps: ``01-<step>.png``, ``02-<step>.png``, …"""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    async def take(self, tab: Page, step: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        await tab.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    folder = ARTIFACTS_DIR / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)  # a rerun's pictures only
    return Screenshots(folder)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Lets the page fixture see whether the test body failed, to keep a picture of that moment.
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
