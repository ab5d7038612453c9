"""Queues and their members: who may be rung (strategy, pause, in-call), the counters QueueStatus
reports, and the member events Asterisk's app_queue sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.simulator.config import AgentSpec, QueueSpec
from cti.simulator.pbx import Channel, Pbx
from cti.simulator.wire import Fields

NOT_INUSE, INUSE, RINGING = 1, 2, 6


@dataclass(eq=False)
class Member:
    interface: str
    name: str
    spec: AgentSpec | None
    membership: str = "static"
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    status: int = NOT_INUSE
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    busy: bool = False  # ringing for or talking to a caller
    state_interface: str = ""  # the device whose state counts; empty: the interface itself

    def __post_init__(self) -> None:
        self.state_interface = self.state_interface or self.interface

    def fields(self, queue: str) -> Fields:
        return [("Queue", queue), ("MemberName", self.name), ("Interface", self.interface),
                ("StateInterface", self.state_interface), ("Membership", self.membership),
                ("Penalty", str(self.penalty)),
                ("CallsTaken", str(self.calls_taken)), ("LastCall", str(self.last_call)),
                ("LastPause", str(self.last_pause)), ("LoginTime", str(self.login_time)), ("InCall", "0"),
                ("Status", str(self.status)), ("Paused", "1" if self.paused else "0"), ("PausedReason", self.reason),
                ("Ringinuse", "0"), ("Wrapuptime", "0")]

    def list_fields(self, queue: str) -> Fields:
        """QueueStatus names the same facts differently (Name, Location) and has no Ringinuse."""
        return [("Queue", queue), ("Name", self.name), ("Location", self.interface),
                ("StateInterface", self.state_interface), ("Membership", self.membership),
                ("Penalty", str(self.penalty)),
                ("CallsTaken", str(self.calls_taken)), ("LastCall", str(self.last_call)),
                ("LastPause", str(self.last_pause)), ("LoginTime", str(self.login_time)), ("InCall", "0"),
                ("Status", str(self.status)), ("Paused", "1" if self.paused else "0"), ("PausedReason", self.reason),
                ("Wrapuptime", "0")]


@dataclass(eq=False)
class Queue:
    spec: QueueSpec
    members: dict[str, Member] = field(default_factory=dict)
    callers: list[Channel] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: float = 0.0
    talktime: float = 0.0
    _rr: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def pick(self) -> list[Member]:
        """The members to ring now under the queue's strategy (ringinuse = no: not a phone in use)."""
        ready = [m for m in self.members.values() if not m.paused and not m.busy and m.status == NOT_INUSE]
        if not ready:
            return []
        if self.spec.strategy == "ringall":  # app_queue prepends each call to its list: the last member rings first
            return ready[::-1]
        if self.spec.strategy == "leastrecent":
            return [min(ready, key=lambda m: (m.last_call, m.penalty))]
        order = list(self.members.values())
        for step in range(len(order)):
            candidate = order[(self._rr + step) % len(order)]
            if candidate in ready:
                self._rr = (order.index(candidate) + 1) % len(order)
                return [candidate]
        return []

    def record(self, hold: float, talk: float | None) -> None:
        """Rolling averages the way app_queue keeps them (new = (old*3 + sample)/4)."""
        self.holdtime = (self.holdtime * 3 + hold) / 4 if self.completed + self.abandoned else hold
        if talk is not None:
            self.talktime = (self.talktime * 3 + talk) / 4 if self.completed else talk
            self.completed += 1


class Queues:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.queues: dict[str, Queue] = {}
        self.phones: dict[str, AgentSpec] = {}  # every phone, member of a queue or not

    def load(self, specs: list[QueueSpec], agents: list[AgentSpec]) -> None:
        """queues.conf as Asterisk reads it at start: static members only (dynamic ones are gone, as with
        ``persistentmembers = no``)."""
        now = int(self.pbx.clock.now())
        self.queues = {q.name: Queue(q) for q in specs}
        self.phones = {a.interface: a for a in agents}
        for agent in agents:
            if not agent.static:
                continue
            for q in self.queues.values():
                if not agent.queues or q.name in agent.queues:
                    q.members[agent.interface] = Member(agent.interface, agent.name, agent, penalty=agent.penalty,
                                                        login_time=now)

    def member_event(self, name: str, queue: Queue, member: Member) -> None:
        self.pbx.emit(name, "agent,all", member.fields(queue.name))

    def set_status(self, interface: str, status: int) -> None:
        for q in self.queues.values():
            m = q.members.get(interface)
            if m is not None and m.status != status:
                m.status = status
                self.member_event("QueueMemberStatus", q, m)

    def members_of(self, interface: str) -> list[tuple[Queue, Member]]:
        return [(q, q.members[interface]) for q in self.queues.values() if interface in q.members]

    def pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> bool:
        found = [(q, m) for q, m in self.members_of(interface) if queue in (None, q.name)]
        for q, m in found:
            m.paused, m.reason = paused, reason if paused else ""
            m.last_pause = int(self.pbx.clock.now())
            self.pbx.device_state(f"Queue:{q.name}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
            self.member_event("QueueMemberPause", q, m)
        return bool(found)

    def agent_spec(self, interface: str) -> AgentSpec | None:
        return self.phones.get(interface)
