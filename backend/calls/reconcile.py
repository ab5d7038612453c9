"""The periodic repair behind the real-time path: re-read the last hours of the "calls" stream and
insert a record for every ended call that has none (a consumer that was down past the bus's retention,
a record deleted by hand, a bug fixed since)."""

from __future__ import annotations

import logging

from backend.calls.recorder import Recorder
from backend.core.bus import parse_id
from backend.core.context import AppContext
from backend.orgs.scope import Scope

log = logging.getLogger("lianluo.calls")

WINDOW_HOURS = 24.0
_PAGE = 1000


async def reconcile_call_records(ctx: AppContext, *, hours: float = WINDOW_HOURS) -> int:
    """Insert the missing records of calls that ended in the last ``hours`` of the stream; returns how many."""
    last = await ctx.bus.last_id("calls")
    if last is None:
        return 0
    # Bus ids start with the bus's own millisecond clock, so the window is measured on it, back from the
    # newest event: the domain clock (frozen in tests, possibly skewed) has no say in which id is when.
    newest_ms, _ = parse_id(last)
    after = f"{max(newest_ms - int(hours * 3_600_000), 0)}-0"
    repaired = 0
    while page := await ctx.bus.read("calls", after=after, limit=_PAGE):
        async with ctx.db.session(scope=Scope.everything()) as session:
            recorder = Recorder(session, ctx.settings)
            for envelope in await recorder.missing_calls(page):
                try:
                    repaired += await recorder.write(envelope)
                except (ValueError, TypeError, LookupError):
                    log.exception("reconciliation skipped event %s", envelope.id)
        after = page[-1].id
    if repaired:
        log.warning("reconciliation repaired %d call record(s) the real-time path had missed", repaired)
    return repaired


async def reconcile_job(ctx: AppContext) -> None:
    await reconcile_call_records(ctx)
