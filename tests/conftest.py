"""Shared fixtures. API tests run once per stack: SQLite + in-process bus always, and PostgreSQL +
Redis Streams when they are reachable (required when ``LIANLUO_TEST_REQUIRE`` names them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from backend.app import create_app
from backend.auth.passwords import hash_password
from backend.auth.permissions import Role
from backend.auth.services import create_user
from backend.core.clock import FrozenClock
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.settings import Settings
from backend.migrations import upgrade_async
from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.seed.builder import seed
from tests import backends

PASSWORD = "Test@Lianluo1"
SEED_AS_OF = date(2026, 11, 1)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

LEVELS = ("hq", "branch", "outlet")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: runs once per backend stack")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    ran = ", ".join(sorted(backends.ran)) or "none"
    terminalreporter.write_line(f"backends ran: {ran}")


@dataclass
class Stack:
    """A running platform on one backend combination, with helpers to act as any test user."""

    name: str
    ctx: AppContext
    app: FastAPI
    client: httpx.AsyncClient
    orgs: dict[str, Org]  # hq, branch, central, outlet, other_branch, other_outlet
    users: dict[tuple[Role, str], str] = field(default_factory=dict)  # (role, level) -> username
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def clock(self) -> FrozenClock:
        assert isinstance(self.ctx.clock, FrozenClock)
        return self.ctx.clock

    async def token(self, username: str, password: str = PASSWORD) -> str:
        if username not in self._tokens:
            r = await self.client.post("/api/auth/login", json={"username": username, "password": password})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def forget_tokens(self) -> None:
        """After a test removed login sessions wholesale: the next request of each user logs in again."""
        self._tokens.clear()

    async def as_user(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    async def get(self, username: str, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers=await self.as_user(username), **kw)

    async def post(self, username: str, url: str, **kw: Any) -> httpx.Response:
        return await self.client.post(url, headers=await self.as_user(username), **kw)

    async def add_user(self, username: str, role: Role, org: Org, password: str = PASSWORD) -> str:
        async with self.ctx.db.session(scope=Scope.everything()) as s:
            await create_user(s, username=username, password=password, display_name=username, org_id=org.id,
                              roles=[role], now=NOW, check_password=False, password_hash=await hash_password(password))
        return username


async def _pick_orgs(db: Database) -> dict[str, Org]:
    from sqlalchemy import select

    async with db.session(scope=Scope.everything()) as s:
        orgs = (await s.scalars(select(Org).order_by(Org.path))).all()
    by_level = {lvl: [o for o in orgs if o.level == lvl] for lvl in OrgLevel}
    hq = by_level[OrgLevel.head_office][0]
    branch, other_branch = by_level[OrgLevel.branch][:2]
    central = next(o for o in by_level[OrgLevel.central_sub_branch] if o.path.startswith(branch.path))
    outlet = next(o for o in by_level[OrgLevel.outlet] if o.path.startswith(central.path))
    sibling = next(o for o in by_level[OrgLevel.outlet] if o.path.startswith(central.path) and o.id != outlet.id)
    other_outlet = next(o for o in by_level[OrgLevel.outlet] if o.path.startswith(other_branch.path))
    return {"hq": hq, "branch": branch, "central": central, "outlet": outlet, "sibling_outlet": sibling,
            "other_branch": other_branch, "other_outlet": other_outlet}


async def _build_stack(name: str, database_url: str, bus_url: str, data_dir: Path) -> Stack:
    settings = Settings(database_url=database_url, bus_url=bus_url, data_dir=data_dir,
                        bus_stream_prefix=backends.unique_prefix(), secret_key=f"test-signing-key-{name}-0123456789abcdef",
                        max_body_bytes=64 * 1024)
    await upgrade_async(database_url)
    ctx = AppContext.from_settings(settings, clock=FrozenClock(NOW))
    await seed(ctx.db, seed=7, customers=400, policies=800, password=PASSWORD, as_of=SEED_AS_OF)
    app = create_app(ctx, own_context=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lianluo.test")

    async def forget_cookies(_response: httpx.Response) -> None:
        # Each test says who it is; a login cookie left in the jar would speak for the next request.
        client.cookies.clear()

    client.event_hooks["response"].append(forget_cookies)
    stack = Stack(name=name, ctx=ctx, app=app, client=client, orgs=await _pick_orgs(ctx.db))
    hashed = await hash_password(PASSWORD)
    async with ctx.db.session(scope=Scope.everything()) as s:
        for role in Role:
            for level, org_key in (("hq", "hq"), ("branch", "branch"), ("outlet", "outlet")):
                username = f"t_{role.value}_{level}"
                await create_user(s, username=username, password=PASSWORD, display_name=username,
                                  org_id=stack.orgs[org_key].id, roles=[role], now=NOW, check_password=False,
                                  password_hash=hashed)
                stack.users[(role, level)] = username
    return stack


STACKS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=STACKS)
async def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    kind = request.param
    data_dir = tmp_path_factory.mktemp(f"stack-{kind}")
    if kind == "sqlite":
        s = await _build_stack("sqlite+memory", f"sqlite+aiosqlite:///{data_dir}/lianluo.db", "memory://", data_dir)
        backends.ran.add("sqlite + in-process bus")
        try:
            yield s
        finally:
            await s.client.aclose()
            await s.ctx.close()
        return
    missing = [n for n, ok in (("postgresql", backends.pg_available()), ("redis", backends.redis_available())) if not ok]
    if missing:
        if backends.REQUIRED & set(missing):
            pytest.fail(f"required test backend(s) unreachable: {', '.join(missing)}")
        pytest.skip(f"unreachable: {', '.join(missing)}")
    url, dbname = await backends.fresh_pg_database()
    s = await _build_stack("postgresql+redis", url, backends.REDIS_URL, data_dir)
    backends.ran.add("postgresql + redis streams")
    try:
        yield s
    finally:
        await s.client.aclose()
        await s.ctx.bus.delete_streams("security")  # type: ignore[attr-defined]
        await s.ctx.close()
        await backends.drop_pg_database(dbname)
