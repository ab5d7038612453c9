"""The wallboard of this process: built by replaying the bus, kept current by reading on from its cursors.

Each ``serve`` process holds one :class:`Wallboard` (no database table, nothing shared): on its first
use it replays the ``calls`` and ``agents`` streams from their start (agents' states may date from
before midnight; today's counters ignore older events by themselves), and before every answer it
reads whatever the bus received since, so any instance answers the same. Both streams are merged in
id order (ids are ``<ms>-<seq>``) so that a call's events and its agents' state changes interleave as
they happened.

Who sees what: the agents of the caller's org subtree (users whose phone the PBX reported); queues —
every queue for a caller at the root org, otherwise the queues those agents serve now or handled calls
of today. Queue figures are the whole queue's (a queue is shared by every org whose agents serve it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.principal import Principal
from backend.core import events as ev
from backend.core.bus import FROM_START, Bus, parse_id
from backend.core.clock import Clock
from backend.core.events import Envelope
from backend.wallboard.stats import AgentFigures, QueueFigures, Snapshot, WallboardStats

STREAMS = (ev.CallEvent.stream, ev.AgentStateChanged.stream)
BATCH = 1000


class Wallboard:
    def __init__(self, bus: Bus, clock: Clock) -> None:
        self.bus, self.clock = bus, clock
        self.stats = WallboardStats()
        self.cursors = dict.fromkeys(STREAMS, FROM_START)
        self._lock = asyncio.Lock()

    async def catch_up(self) -> None:
        """Fold every event the bus received since the last call, both streams merged in publication order: by
        the id's millisecond, then — because the sequence part restarts per stream, so two events of the same
        millisecond cannot be ordered by it — by when they happened, and a call's event before the agent
        state change it caused (a call ends, then its agent goes into wrap-up)."""
        async with self._lock:
            buffers: dict[str, deque[Envelope]] = {s: deque() for s in STREAMS}
            drained: set[str] = set()
            while True:
                for stream in STREAMS:
                    if not buffers[stream] and stream not in drained:
                        batch = await self.bus.read(stream, after=self.cursors[stream], limit=BATCH)
                        if batch:
                            buffers[stream].extend(batch)
                            self.cursors[stream] = batch[-1].id
                        else:
                            drained.add(stream)
                ready = [s for s in STREAMS if buffers[s]]
                if not ready:
                    return
                stream = min(ready, key=lambda s: _merge_key(buffers[s][0], STREAMS.index(s)))
                envelope = buffers[stream].popleft()
                self.stats.apply(envelope.event, envelope.occurred_at)

    async def snapshot(self) -> Snapshot:
        await self.catch_up()
        return self.stats.snapshot(self.clock.now())

    async def agent_on_call(self, call_id: str) -> str | None:
        """The phone interface of the agent on ``call_id`` now (talking, or else being rung)."""
        await self.catch_up()
        return self.stats.current_call_agent(call_id)


def _merge_key(envelope: Envelope, rank: int) -> tuple[int, datetime, int, int]:
    ms, seq = parse_id(envelope.id)
    return ms, envelope.occurred_at, rank, seq


def wallboard_of(request: Request) -> Wallboard:
    """This process's wallboard, made on first use."""
    state = request.app.state
    board = getattr(state, "wallboard", None)
    if board is None:
        ctx = state.ctx
        board = state.wallboard = Wallboard(ctx.bus, ctx.clock)
    return board


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    username: str
    display_name: str
    figures: AgentFigures


@dataclass(frozen=True)
class ScopedView:
    snapshot: Snapshot
    queues: list[QueueFigures]
    agents: list[AgentRow]


async def scoped_view(session: AsyncSession, principal: Principal, snapshot: Snapshot, stats: WallboardStats,
                      configured_queues: list[str]) -> ScopedView:
    """The part of ``snapshot`` the principal may see (the session carries their org scope)."""
    rows = (await session.execute(select(User.id, User.username, User.display_name, User.phone_interface)
                                  .where(User.phone_interface.is_not(None)).order_by(User.username))).all()
    agents = [AgentRow(uid, username, name, snapshot.agents[phone]) for uid, username, name, phone in rows
              if phone in snapshot.agents]
    if principal.scope.path is None or principal.at_head_office:
        names = set(snapshot.queues) | set(configured_queues)
    else:
        names = stats.queues_of({a.figures.interface for a in agents}, snapshot.day)
    order = {name: i for i, name in enumerate(configured_queues)}
    queues = [snapshot.queues.get(name) or _empty(name) for name in
              sorted(names, key=lambda n: (order.get(n, len(order)), n))]
    return ScopedView(snapshot, queues, agents)


def _empty(name: str) -> QueueFigures:
    return QueueFigures(queue=name, waiting=0, longest_wait_seconds=0.0, agents_by_state={}, offered=0, answered=0,
                        abandoned=0, abandoned_short=0, answered_within_sl=0, handled=0, service_level=None,
                        answer_rate=None, abandon_rate=None, asa_seconds=None, aht_seconds=None)
