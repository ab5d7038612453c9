"""One bus follower per stream per process, relaying each event to the connections it is for.

A thousand consoles must not mean a thousand bus subscriptions per stream: each ``serve`` process
follows each stream once, computes an event's audience once, renders its frame once, and hands it to
the queue of every connection the audience admits. Nothing here is state of record — the bus is:
followers start from the stream's end when the first connection arrives and stop with the last; a
connection that needs the past reads it from the bus itself (see ``session.py``). A connection whose
queue passes ``queue_limit`` (a client that stopped reading) is told to go; it resumes from its last id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass, field

from backend.core.bus import FROM_START, Bus, parse_id
from backend.core.events import CallEvent, CtiCommand, Envelope
from backend.hub.audience import Router, Viewer

log = logging.getLogger("lianluo.hub")


def frame(env: Envelope) -> str:
    """The JSON text a console receives for one event (routing fields stay server-side)."""
    return json.dumps({"id": env.id, "stream": env.stream, "type": env.event.type, "v": env.event.version,
                       "at": env.occurred_at.isoformat(), "node": env.node,
                       "data": env.event.model_dump(mode="json", exclude={"user_ids", "org_path"})},
                      ensure_ascii=False)


@dataclass(frozen=True)
class Delivery:
    envelope: Envelope
    frame: str


@dataclass(eq=False)
class Subscriber:
    """One connection's inbox. ``None`` in the queue means: too far behind, close and resume."""

    viewer: Viewer
    limit: int
    queue: asyncio.Queue[Delivery | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, delivery: Delivery) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= self.limit:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(delivery)


# Streams whose past the router must have seen to route what comes next: a call's ringing phones,
# a command's sender. How far back a starting follower reads them, in seconds.
_LOOKBACK = {CallEvent.stream: "call_lookback_seconds", CtiCommand.stream: "command_lookback_seconds"}


class Fanout:
    def __init__(self, bus: Bus, router: Router, streams: tuple[str, ...], *, queue_limit: int = 5000,
                 call_lookback_seconds: float = 300.0, command_lookback_seconds: float = 60.0) -> None:
        self.bus = bus
        self.router = router
        self.streams = streams
        self._queue_limit = queue_limit
        self._lookback = {"call_lookback_seconds": call_lookback_seconds,
                          "command_lookback_seconds": command_lookback_seconds}
        self._subscribers: set[Subscriber] = set()
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._observed: dict[str, str] = {}  # stream → last id the router has seen from the warm-up
        self._lock = asyncio.Lock()

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    async def attach(self, viewer: Viewer) -> Subscriber:
        """Register a connection; from now on it receives every live event it is admitted to."""
        async with self._lock:
            for stream in self.streams:
                task = self._followers.get(stream)
                if task is None or task.done():
                    self._followers[stream] = await self._start(stream)
            sub = Subscriber(viewer, self._queue_limit)
            self._subscribers.add(sub)
        return sub

    async def detach(self, sub: Subscriber) -> None:
        async with self._lock:
            self._subscribers.discard(sub)
            if self._subscribers:
                return
            followers, self._followers = list(self._followers.values()), {}
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)

    async def _start(self, stream: str) -> asyncio.Task[None]:
        # The start is fixed before any connection counts on it, so nothing published after a
        # connection attached can fall between its replay and the live feed.
        start = await self.bus.last_id(stream) or FROM_START
        if stream in _LOOKBACK:
            await self._warm_up(stream, start)
        return asyncio.create_task(self._follow(stream, start), name=f"hub-follow-{stream}")

    async def _warm_up(self, stream: str, until: str) -> None:
        since_ms = int((time.time() - self._lookback[_LOOKBACK[stream]]) * 1000)
        after = f"{since_ms}-0"
        if stream in self._observed and parse_id(self._observed[stream]) > parse_id(after):
            after = self._observed[stream]
        stop = parse_id(until)
        while parse_id(after) < stop and (batch := await self.bus.read(stream, after=after, limit=1000)):
            for env in batch:
                if parse_id(env.id) > stop:
                    break
                self.router.observe(env)
            after = batch[-1].id
        self._observed[stream] = until

    async def _follow(self, stream: str, cursor: str) -> None:
        backoff = 0.5
        while True:
            try:
                async with aclosing(self.bus.subscribe(stream, after=cursor)) as events:
                    async for env in events:
                        cursor = env.id
                        await self._deliver(env)
                        backoff = 0.5
                return  # the bus was closed
            except asyncio.CancelledError:
                raise
            except Exception:
                # The bus is down: keep the cursor and resume from it, so no connection sees a gap.
                log.warning("hub lost stream %s at %s; retrying in %.1fs", stream, cursor, backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _deliver(self, env: Envelope) -> None:
        backoff = 0.5
        while True:
            try:
                audience = await self.router.audience(env)
                break
            except Exception:
                # A routing lookup failed (database down): hold the stream rather than lose the event.
                log.warning("could not route %s %s; retrying in %.1fs", env.stream, env.id, backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        if audience.empty:
            return
        delivery = None
        for sub in self._subscribers:
            if audience.admits(sub.viewer):
                delivery = delivery or Delivery(env, frame(env))
                sub.offer(delivery)

    async def close(self) -> None:
        followers, self._followers = list(self._followers.values()), {}
        for task in followers:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*followers, return_exceptions=True)
