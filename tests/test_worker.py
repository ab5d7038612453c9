"""Worker job loops: each job runs on its period; a failing run is logged and the loop goes on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from backend.auth.models import AuthSession
from backend.auth.permissions import Role
from backend.core.context import AppContext
from backend.orgs.scope import Scope
from backend.worker.loops import Job, purge_login_sessions, run_worker
from tests.conftest import NOW, PASSWORD, Stack


async def _sessions_of(stack: Stack, username: str) -> int:
    from backend.auth.models import User

    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return await s.scalar(select(func.count()).select_from(AuthSession).join(User, User.id == AuthSession.user_id)
                              .where(User.username == username))


async def test_given_long_expired_sessions_when_purge_runs_then_only_they_are_removed(stack: Stack) -> None:
    old = await stack.add_user("purge_old", Role.agent, stack.orgs["outlet"])
    fresh = await stack.add_user("purge_fresh", Role.agent, stack.orgs["outlet"])
    await stack.client.post("/api/auth/login", json={"username": old, "password": PASSWORD})
    stack.clock.advance(timedelta(days=3))
    try:
        await stack.client.post("/api/auth/login", json={"username": fresh, "password": PASSWORD})
        await purge_login_sessions(stack.ctx)
    finally:
        stack.clock.set(NOW)
        stack.forget_tokens()  # the purge also removed the sessions other tests' cached tokens name
    assert await _sessions_of(stack, old) == 0
    assert await _sessions_of(stack, fresh) == 1


async def test_given_a_failing_job_when_worker_runs_then_it_retries_and_other_jobs_go_on(stack: Stack) -> None:
    runs = {"bad": 0, "good": 0}

    async def bad(_ctx: AppContext) -> None:
        runs["bad"] += 1
        raise RuntimeError("boom")

    async def good(_ctx: AppContext) -> None:
        runs["good"] += 1

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(stack.ctx, stop, (Job("bad", 0.01, bad), Job("good", 0.01, good))))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(worker, 2)
    assert runs["bad"] >= 3 and runs["good"] >= 3
