"""The worker's job loops. Each job runs on its own period; one failing run is logged, not fatal.

Today the worker housekeeps login sessions, writes call records and agent-state history from the bus
(a follower loop) and reconciles them, and runs the workflow's deadline job (将超期, 超期, escalation);
the outbox and the dialer join it as those capabilities land.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backend.auth.services import AuthService
from backend.calls.consumer import run_call_records
from backend.calls.reconcile import reconcile_job
from backend.core.context import AppContext
from backend.workflow.deadline_job import deadline_job

log = logging.getLogger("lianluo.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float | str  # seconds, or the name of the setting that says how many
    run: Callable[[AppContext], Awaitable[None]]

    def period(self, ctx: AppContext) -> float:
        every = self.every_seconds
        return float(getattr(ctx.settings, every) if isinstance(every, str) else every)


async def purge_login_sessions(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        removed = await AuthService(session, ctx.settings, ctx.clock).purge_expired_sessions()
    if removed:
        log.info("purged %d expired login sessions", removed)


JOBS = (
    Job("purge_login_sessions", 3600, purge_login_sessions),
    Job("reconcile_call_records", 600, reconcile_job),
    Job("check_deadlines", "deadline_check_seconds", deadline_job),
)

# Loops that follow the bus for as long as the worker runs (each handles its own errors and ``stop``).
Follower = Callable[[AppContext, asyncio.Event], Awaitable[None]]
FOLLOWERS: tuple[Follower, ...] = (run_call_records,)


async def _loop(ctx: AppContext, job: Job, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await job.run(ctx)
        except Exception:
            log.exception("job %s failed; next try in %ss", job.name, job.period(ctx))
        try:
            await asyncio.wait_for(stop.wait(), timeout=job.period(ctx))
        except TimeoutError:
            pass


async def run_worker(ctx: AppContext, stop: asyncio.Event, jobs: tuple[Job, ...] = JOBS,
                     followers: tuple[Follower, ...] = FOLLOWERS) -> None:
    log.info("worker running %d job(s): %s", len(jobs), ", ".join(j.name for j in jobs))
    await asyncio.gather(*(_loop(ctx, job, stop) for job in jobs), *(follow(ctx, stop) for follow in followers))
