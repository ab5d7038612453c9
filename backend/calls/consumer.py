"""The real-time path: follow the "calls" and "agents" streams and write call records and agent-state history.

Each batch is one database transaction that locks this consumer's cursor row, reads the bus after it,
writes the rows and moves the cursor: a crash leaves either all of a batch or none of it, and a
second worker process waits for the lock and then continues after the first one's batch.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calls.models import BusCursor
from backend.calls.recorder import Recorder
from backend.core.bus import FROM_START
from backend.core.context import AppContext
from backend.core.db import insert_ignoring_duplicates
from backend.orgs.scope import Scope

log = logging.getLogger("lianluo.calls")

CONSUMER = "call_records"
STREAMS = ("calls", "agents", "ivr")
BATCH = 500
POLL_SECONDS = 1.0
RETRY_SECONDS = 5.0


async def lock_cursor(session: AsyncSession, consumer: str, stream: str) -> str:
    """The cursor's position, locked until the session's transaction ends.

    PostgreSQL locks the row (``FOR UPDATE``). SQLite has no row locks, but the INSERT that comes first
    is a write, which takes SQLite's single write lock before anything is read; a second writer waits
    for it (busy timeout) rather than reading a cursor that is about to move.
    """
    await session.execute(insert_ignoring_duplicates(session, BusCursor, "consumer", "stream"),
                          {"consumer": consumer, "stream": stream, "last_id": FROM_START})
    last_id = await session.scalar(select(BusCursor.last_id)
                                   .where(BusCursor.consumer == consumer, BusCursor.stream == stream)
                                   .with_for_update())
    assert last_id is not None
    return last_id


async def cursor_of(ctx: AppContext, stream: str, consumer: str = CONSUMER) -> str | None:
    async with ctx.db.session() as session:
        return await session.scalar(select(BusCursor.last_id)
                                    .where(BusCursor.consumer == consumer, BusCursor.stream == stream))


async def consume_batch(ctx: AppContext, stream: str, *, consumer: str = CONSUMER, limit: int = BATCH) -> int:
    """Process up to ``limit`` events of ``stream`` after the cursor, in one transaction; returns how many."""
    async with ctx.db.session(scope=Scope.everything()) as session:
        after = await lock_cursor(session, consumer, stream)
        envelopes = await ctx.bus.read(stream, after=after, limit=limit)
        if not envelopes:
            return 0
        recorder = Recorder(session, ctx.settings)
        written = 0
        for envelope in envelopes:
            try:
                written += await recorder.write(envelope)
            except (ValueError, TypeError, LookupError):
                # One event this code cannot turn into a row must not hold up the stream behind it.
                log.exception("skipping event %s (%s) on %s", envelope.id, envelope.event.type, stream)
        await session.execute(update(BusCursor)
                              .where(BusCursor.consumer == consumer, BusCursor.stream == stream)
                              .values(last_id=envelopes[-1].id, updated_at=ctx.clock.now()))
    if written:
        log.debug("%s: %d events, %d rows written", stream, len(envelopes), written)
    return len(envelopes)


async def consume_once(ctx: AppContext, *, consumer: str = CONSUMER, limit: int = BATCH) -> int:
    """Process everything on the streams now, batch by batch; returns the number of events processed."""
    total = 0
    for stream in STREAMS:
        while count := await consume_batch(ctx, stream, consumer=consumer, limit=limit):
            total += count
    return total


async def run_call_records(ctx: AppContext, stop: asyncio.Event) -> None:
    """Follow the streams until ``stop`` is set. A failed batch is rolled back and retried."""
    log.info("call-record consumer following %s", ", ".join(STREAMS))
    while not stop.is_set():
        pause = POLL_SECONDS
        for stream in STREAMS:  # one stream's trouble does not hold up the other
            try:
                while await consume_batch(ctx, stream) and not stop.is_set():
                    pass
            except Exception:
                log.exception("call-record batch of %s failed; retrying in %ss", stream, RETRY_SECONDS)
                pause = RETRY_SECONDS
        try:
            await asyncio.wait_for(stop.wait(), timeout=pause)
        except TimeoutError:
            pass
