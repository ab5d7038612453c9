"""Wallboard figures folded from platform events: pure, deterministic given the events and a clock.

:class:`WallboardStats` takes the ``calls`` and ``agents`` events in bus order (``apply``) and answers
``snapshot(now)``: per queue and per agent, live state (calls waiting, agents' states) plus today's
counters. "Today" is the calendar day in Asia/Shanghai; counters are kept per day, so the figures
reset at midnight by themselves and an event arriving late still lands on its own day.

KPI definitions (../shared/domain/README.md, "Contact-center KPIs"):

- offered (calls that requested an agent) = calls that entered the queue; a call counts once per queue;
- 人工接通率 answer rate = answered by an agent ÷ offered;
- 20秒服务水平 service level = answered with a queue wait ≤ 20 s ÷ (offered − abandoned with a wait ≤ 5 s);
- 放弃率 abandon rate = abandoned after queueing ÷ offered;
- ASA = total queue wait of answered calls ÷ answered calls;
- AHT = (talk + hold + wrap-up) ÷ handled calls. The CTI's ``talk_seconds`` runs from answer to hang-up
  and so already holds the hold time; wrap-up is the agent's following spell in 话后处理, added to the
  queue of the call it followed when it ends.

A call's answer or abandonment counts on the day it entered the queue (so the service level of a day
never mixes two days' calls); a handled call and its wrap-up count on the day they end. Nothing here
touches the database, the bus or the wall clock: the service feeds it, tests script it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from backend.core import events as ev

SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE_LEVEL_SECONDS = 20.0  # 20秒服务水平
SHORT_ABANDON_SECONDS = 5.0  # abandoned this soon: left out of the service level's denominator
WRAPUP_REASON = "话后处理"
WRAP_UP = "wrap_up"  # the display state of an agent not ready for 话后处理


def day_of(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


# --- counters of one day


@dataclass
class QueueDay:
    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    answered_wait_seconds: float = 0.0
    abandoned: int = 0
    abandoned_short: int = 0
    handled: int = 0
    handle_seconds: float = 0.0  # talk (hold included) + wrap-up of handled calls


@dataclass
class AgentDay:
    handled: int = 0
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    queues: set[str] = field(default_factory=set)  # queues whose calls the agent handled


@dataclass
class Day:
    queues: dict[str, QueueDay] = field(default_factory=dict)
    agents: dict[str, AgentDay] = field(default_factory=dict)
    entered: set[tuple[str, str]] = field(default_factory=set)  # (call id, queue) already offered

    def queue(self, name: str) -> QueueDay:
        return self.queues.setdefault(name, QueueDay())

    def agent(self, interface: str) -> AgentDay:
        return self.agents.setdefault(interface, AgentDay())


# --- live state


@dataclass
class Waiting:
    queue: str
    since: datetime
    day: date


@dataclass
class LiveCall:
    call_id: str
    direction: str
    queue: str | None
    status: str  # ringing | talking | held
    since: datetime
    caller: str | None = None  # for the agent's own console only; the wallboard's schema does not show it


@dataclass
class LiveAgent:
    interface: str
    name: str | None = None
    state: str = "logged_out"
    reason: str | None = None
    since: datetime | None = None
    queues: tuple[str, ...] = ()
    call: LiveCall | None = None
    last_queue: str | None = None  # queue of the last call handled: where its wrap-up counts

    @property
    def display_state(self) -> str:
        return WRAP_UP if self.state == "not_ready" and self.reason == WRAPUP_REASON else self.state


# --- what a snapshot holds


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    waiting: int
    longest_wait_seconds: float
    agents_by_state: dict[str, int]
    offered: int
    answered: int
    abandoned: int
    abandoned_short: int
    answered_within_sl: int
    handled: int
    service_level: float | None
    answer_rate: float | None
    abandon_rate: float | None
    asa_seconds: float | None
    aht_seconds: float | None


@dataclass(frozen=True)
class CurrentCall:
    call_id: str
    direction: str
    queue: str | None
    status: str
    seconds: float
    caller: str | None = None


@dataclass(frozen=True)
class AgentFigures:
    interface: str
    name: str | None
    state: str
    reason: str | None
    seconds_in_state: float | None
    queues: tuple[str, ...]
    handled: int
    talk_seconds: float
    wrapup_seconds: float
    current_call: CurrentCall | None


@dataclass(frozen=True)
class Snapshot:
    day: date
    at: datetime
    queues: dict[str, QueueFigures]
    agents: dict[str, AgentFigures]


class WallboardStats:
    """Folds events into figures. Feed it in bus order; ask for a snapshot with the current time."""

    def __init__(self) -> None:
        self.days: dict[date, Day] = {}
        self.waiting: dict[str, Waiting] = {}  # call id → where it waits
        self.agents: dict[str, LiveAgent] = {}  # by interface
        self.calls: dict[str, LiveCall] = {}  # answered calls not ended yet, by call id
        self.queues_seen: set[str] = set()
        self._floor: date | None = None  # days before this are gone (a snapshot was taken later)

    # --- folding

    def _day(self, day: date) -> Day | None:
        if self._floor is not None and day < self._floor:
            return None
        return self.days.setdefault(day, Day())

    def _agent(self, interface: str) -> LiveAgent:
        return self.agents.setdefault(interface, LiveAgent(interface))

    def apply(self, event: ev.Event, at: datetime) -> None:
        match event:
            case ev.CallQueued():
                self._queued(event, at)
            case ev.AgentRinging():
                agent = self._agent(event.agent_interface)
                agent.name = event.agent_name or agent.name
                agent.call = LiveCall(event.call_id, event.direction, event.queue, "ringing", at, event.caller)
            case ev.CallAnswered():
                self._answered(event, at)
            case ev.CallHeld() | ev.CallResumed():
                if (call := self.calls.get(event.call_id)) is not None:  # the agent's row shows 保持中
                    call.status = "held" if isinstance(event, ev.CallHeld) else "talking"
            case ev.CallAbandoned():
                self._abandoned(event, at)
            case ev.CallEnded():
                self._ended(event, at)
            case ev.AgentStateChanged():
                self._agent_state(event, at)

    def _queued(self, e: ev.CallQueued, at: datetime) -> None:
        self.queues_seen.add(e.queue)
        current = self.waiting.get(e.call_id)
        if current is None or current.queue != e.queue:
            self.waiting[e.call_id] = Waiting(e.queue, at, day_of(at))
        day = self._day(day_of(at))
        if day is not None and (e.call_id, e.queue) not in day.entered:
            day.entered.add((e.call_id, e.queue))
            day.queue(e.queue).offered += 1

    def _answered(self, e: ev.CallAnswered, at: datetime) -> None:
        waited = self.waiting.pop(e.call_id, None)
        call = LiveCall(e.call_id, e.direction, e.queue, "talking", at, e.caller)
        self.calls[e.call_id] = call
        for agent in self.agents.values():  # the others it rang stop ringing for it
            if agent.call is not None and agent.call.call_id == e.call_id:
                agent.call = None
        if e.agent_interface:
            agent = self._agent(e.agent_interface)
            agent.name = e.agent_name or agent.name
            agent.call = call
        if e.queue is None:
            return
        self.queues_seen.add(e.queue)
        found = self._waited(e.queue, e.wait_seconds, waited, at)
        if found is None:
            return
        wait, figures = found
        figures.answered += 1
        figures.answered_wait_seconds += wait
        if wait <= SERVICE_LEVEL_SECONDS:
            figures.answered_within_sl += 1

    def _waited(self, queue: str, reported: float | None, waited: Waiting | None,
                at: datetime) -> tuple[float, QueueDay] | None:
        """How long a call waited in ``queue`` (as the PBX reported it, else since it queued) and the figures of
        the day it queued on; None when that day is no longer kept."""
        wait = reported if reported is not None else ((at - waited.since).total_seconds() if waited else 0.0)
        day = self._day(waited.day if waited and waited.queue == queue else day_of(at))
        return None if day is None else (wait, day.queue(queue))

    def _abandoned(self, e: ev.CallAbandoned, at: datetime) -> None:
        waited = self.waiting.pop(e.call_id, None)
        self._drop_ringing(e.call_id)
        self.queues_seen.add(e.queue)
        found = self._waited(e.queue, e.wait_seconds, waited, at)
        if found is None:
            return
        wait, figures = found
        figures.abandoned += 1
        if wait <= SHORT_ABANDON_SECONDS:
            figures.abandoned_short += 1

    def _drop_ringing(self, call_id: str) -> None:
        for agent in self.agents.values():
            if agent.call is not None and agent.call.call_id == call_id:
                agent.call = None

    def _ended(self, e: ev.CallEnded, at: datetime) -> None:
        self.waiting.pop(e.call_id, None)
        self.calls.pop(e.call_id, None)
        self._drop_ringing(e.call_id)
        if not e.answered or not e.agent_interface:
            return
        agent = self._agent(e.agent_interface)
        agent.last_queue = e.queue
        day = self._day(day_of(at))
        if day is None:
            return
        talk = e.talk_seconds or 0.0
        mine = day.agent(e.agent_interface)
        mine.handled += 1
        mine.talk_seconds += talk
        if e.queue is not None:
            mine.queues.add(e.queue)
            figures = day.queue(e.queue)
            figures.handled += 1
            figures.handle_seconds += talk

    def _agent_state(self, e: ev.AgentStateChanged, at: datetime) -> None:
        agent = self._agent(e.interface)
        agent.name = e.agent_name or agent.name
        self.queues_seen.update(e.queues)
        if (e.state, e.reason) != (agent.state, agent.reason) or agent.since is None:
            if agent.display_state == WRAP_UP and agent.since is not None:
                self._wrapped_up(agent, (at - agent.since).total_seconds(), at)
            agent.state, agent.reason, agent.since = e.state, e.reason, at
        agent.queues = tuple(e.queues)
        if e.call_id is None and e.state not in ("ringing", "on_call", "busy"):
            agent.call = None  # off the phone (a blind transfer leaves the call going on without the agent)

    def _wrapped_up(self, agent: LiveAgent, seconds: float, at: datetime) -> None:
        day = self._day(day_of(at))
        if day is None:
            return
        day.agent(agent.interface).wrapup_seconds += seconds
        if agent.last_queue is not None:
            day.queue(agent.last_queue).handle_seconds += seconds

    # --- reading

    def current_call_agent(self, call_id: str) -> str | None:
        """The interface of the agent talking on (or being rung for) ``call_id``, if any."""
        talking = [a for a in self.agents.values() if a.call is not None and a.call.call_id == call_id]
        talking.sort(key=lambda a: (a.call is None or a.call.status != "talking", a.interface))
        return talking[0].interface if talking else None

    def snapshot(self, now: datetime) -> Snapshot:
        today = day_of(now)
        self._floor = today
        for old in [d for d in self.days if d < today]:
            del self.days[old]
        day = self.days.get(today) or Day()
        queues = {name: self._queue_figures(name, day, now) for name in sorted(self.queues_seen | set(day.queues))}
        agents = {i: self._agent_figures(a, day, now) for i, a in sorted(self.agents.items())}
        return Snapshot(today, now, queues, agents)

    def _queue_figures(self, name: str, day: Day, now: datetime) -> QueueFigures:
        c = day.queues.get(name) or QueueDay()
        waits = [max(0.0, (now - w.since).total_seconds()) for w in self.waiting.values() if w.queue == name]
        by_state: dict[str, int] = {}
        for agent in self.agents.values():
            if name in agent.queues:
                by_state[agent.display_state] = by_state.get(agent.display_state, 0) + 1
        return QueueFigures(
            queue=name, waiting=len(waits), longest_wait_seconds=max(waits, default=0.0),
            agents_by_state=dict(sorted(by_state.items())), offered=c.offered, answered=c.answered,
            abandoned=c.abandoned, abandoned_short=c.abandoned_short, answered_within_sl=c.answered_within_sl,
            handled=c.handled, service_level=_ratio(c.answered_within_sl, c.offered - c.abandoned_short),
            answer_rate=_ratio(c.answered, c.offered), abandon_rate=_ratio(c.abandoned, c.offered),
            asa_seconds=_ratio(c.answered_wait_seconds, c.answered), aht_seconds=_ratio(c.handle_seconds, c.handled))

    def _agent_figures(self, agent: LiveAgent, day: Day, now: datetime) -> AgentFigures:
        mine = day.agents.get(agent.interface) or AgentDay()
        call = agent.call
        return AgentFigures(
            interface=agent.interface, name=agent.name, state=agent.display_state, reason=agent.reason,
            seconds_in_state=max(0.0, (now - agent.since).total_seconds()) if agent.since else None,
            queues=agent.queues, handled=mine.handled, talk_seconds=mine.talk_seconds,
            wrapup_seconds=mine.wrapup_seconds,
            current_call=CurrentCall(call.call_id, call.direction, call.queue, call.status,
                                     max(0.0, (now - call.since).total_seconds()), call.caller) if call else None)

    def queues_of(self, interfaces: set[str], today: date) -> set[str]:
        """Queues the agents ``interfaces`` serve now or handled calls of today."""
        out = {q for i in interfaces if (a := self.agents.get(i)) for q in a.queues}
        day = self.days.get(today)
        if day is not None:
            out |= {q for i in interfaces if (d := day.agents.get(i)) for q in d.queues}
        return out
