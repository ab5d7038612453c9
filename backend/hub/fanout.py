"""One bus follower per stream per process, relaying each event to the connections it is for.

A thousand consoles must not mean a thousand bus subscriptions per stream: each ``serve`` process
follows each stream once, computes an event's audience once, renders its frame once, and hands it to
the queue of every connection the audience admits — found through an index by user and supervisor, so an
agent's screen pop costs that agent and the supervisors, not every console of the process. Nothing here
is state of record — the bus is:
followers start from the stream's end when the first connection arrives and stop with the last; a
connection that needs the past reads it from the bus itself (see ``session.py``). A connection whose
queue passes ``queue_limit`` (a client that stopped reading) is told to go; it resumes from its last id.

What the router must know of the past is read back when a follower starts: the last minutes of calls and
commands before the live feed begins (a screen pop must find the phones its call rang); the agents'
queue memberships, which may date from the start of a shift, beside the live feed, so a long window never
holds up a console's first frame (until it is read, queue events reach only the CTI org's supervisors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from backend.audit.pii import PiiKind, mask
from backend.core.bus import FROM_START, Bus, parse_id
from backend.core.events import AgentStateChanged, CallEvent, CtiCommand, Envelope, Event
from backend.hub.audience import Audience, Router, Viewer

log = logging.getLogger("lianluo.hub")


# A call's numbers (the caller, the number dialled) are personal data. They go in clear only to the agents whose
# phone the call rings or is on — their desk phone displays the number anyway, and the console needs it to
# register and call back; every other console (supervisors, leads of a shared queue) gets them masked, as the
# API masks them for roles without ``pii.unmask``, so a wallboard never carries a customer's number. A lead told
# of a call only because an agent of theirs serves its queue does not learn who of another org took it either.
_CALL_NUMBERS = ("caller", "dialled")
_AGENT = ("agent_interface", "agent_name", "channel")
Form = Literal["clear", "masked", "queue"]


def frame(env: Envelope, *, form: Form = "clear") -> str:
    """The JSON text a console receives for one event (routing fields stay server-side), in ``form``."""
    data = env.event.model_dump(mode="json", exclude={"user_ids", "org_path"})
    if form != "clear" and isinstance(env.event, CallEvent):
        for name in _CALL_NUMBERS:
            if data.get(name):
                data[name] = mask(PiiKind.phone, data[name])
        if form == "queue":
            for name in _AGENT:
                if name in data:
                    data[name] = None
    return json.dumps({"id": env.id, "stream": env.stream, "type": env.event.type, "v": env.event.version,
                       "at": env.occurred_at.isoformat(), "node": env.node, "data": data}, ensure_ascii=False)


def form_for(audience: Audience, viewer: Viewer, event: Event) -> Form:
    """How much of ``event`` this viewer receives: in clear if named in its audience (for a call, its agents)."""
    if not isinstance(event, CallEvent) or viewer.user_id in audience.user_ids:
        return "clear"
    return "masked" if audience.sees_whole(viewer) else "queue"


@dataclass
class Delivery:
    """One event for the subscribers of a process: its frame rendered once per form, when first needed."""

    envelope: Envelope
    audience: Audience
    _frames: dict[Form, str] = field(default_factory=dict)

    def frame_for(self, viewer: Viewer) -> str:
        form = form_for(self.audience, viewer, self.envelope.event)
        rendered = self._frames.get(form)
        if rendered is None:
            rendered = self._frames[form] = frame(self.envelope, form=form)
        return rendered


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


class Connections:
    """The subscribers of one process, indexed by what an audience names: users, supervisors."""

    def __init__(self) -> None:
        self.all: set[Subscriber] = set()
        self._by_user: dict[int, set[Subscriber]] = {}
        self._supervisors: set[Subscriber] = set()

    def __len__(self) -> int:
        return len(self.all)

    def add(self, sub: Subscriber) -> None:
        self.all.add(sub)
        self._by_user.setdefault(sub.viewer.user_id, set()).add(sub)
        if sub.viewer.supervises:
            self._supervisors.add(sub)

    def discard(self, sub: Subscriber) -> None:
        self.all.discard(sub)
        self._supervisors.discard(sub)
        mine = self._by_user.get(sub.viewer.user_id)
        if mine is not None:
            mine.discard(sub)
            if not mine:
                del self._by_user[sub.viewer.user_id]

    def admitted(self, audience: Audience) -> set[Subscriber]:
        """The subscribers ``audience`` admits (the same as asking ``audience.admits`` of each)."""
        if audience.org_path is not None:  # an org subtree (ticket notices): anyone's scope may hold it
            return {s for s in self.all if audience.admits(s.viewer)}
        found = {s for user_id in audience.user_ids for s in self._by_user.get(user_id, ())}
        if audience.supervised_paths or audience.queue_paths:
            found.update(s for s in self._supervisors if audience.admits(s.viewer))
        return found


# Streams whose past the router must have seen to route what comes next: a call's ringing phones,
# a command's sender (read before the live feed), the agents' queues (read beside it). How far back a
# starting follower reads them, in seconds.
_LOOKBACK = {CallEvent.stream: "call_lookback_seconds", CtiCommand.stream: "command_lookback_seconds"}
_BESIDE = {AgentStateChanged.stream: "membership_lookback_seconds"}


class Fanout:
    def __init__(self, bus: Bus, router: Router, streams: tuple[str, ...], *, queue_limit: int = 5000,
                 call_lookback_seconds: float = 300.0, command_lookback_seconds: float = 60.0,
                 membership_lookback_seconds: float = 43_200.0) -> None:
        self.bus = bus
        self.router = router
        self.streams = streams
        self._queue_limit = queue_limit
        self._lookback = {"call_lookback_seconds": call_lookback_seconds,
                          "command_lookback_seconds": command_lookback_seconds,
                          "membership_lookback_seconds": membership_lookback_seconds}
        self._subscribers = Connections()
        self._followers: dict[str, asyncio.Task[None]] = {}  # also the warm-ups running beside them
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
                    await self._start(stream)
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

    async def _start(self, stream: str) -> None:
        # The start is fixed before any connection counts on it, so nothing published after a
        # connection attached can fall between its replay and the live feed.
        start = await self.bus.last_id(stream) or FROM_START
        if stream in _LOOKBACK:
            await self._warm_up(stream, start, _LOOKBACK[stream])
        self._followers[stream] = asyncio.create_task(self._follow(stream, start), name=f"hub-follow-{stream}")
        if stream in _BESIDE:
            self._followers[f"{stream} warm-up"] = asyncio.create_task(
                self._warm_up_beside(stream, start), name=f"hub-warm-up-{stream}")

    async def _warm_up_beside(self, stream: str, until: str) -> None:
        try:
            await self._warm_up(stream, until, _BESIDE[stream])
        except Exception:
            # Only supervisors' queue events depend on it; the live feed fills it in as agents change state.
            log.warning("hub could not read back %s; queue memberships are learnt live", stream, exc_info=True)

    async def _warm_up(self, stream: str, until: str, lookback: str) -> None:
        since_ms = int((time.time() - self._lookback[lookback]) * 1000)
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
            await asyncio.sleep(0)  # a long window beside the live feed must not hold up its frames
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
        subscribers = self._subscribers.admitted(audience)
        if subscribers:
            delivery = Delivery(env, audience)
            for sub in subscribers:
                sub.offer(delivery)

    async def close(self) -> None:
        followers, self._followers = list(self._followers.values()), {}
        for task in followers:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*followers, return_exceptions=True)
