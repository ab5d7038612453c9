"""Agent state, kept from what Asterisk reports (QueueMember* events, the agent's ring/answer/complete
events), so a change made on the phone, by a supervisor or by another tool is seen like our own.

An agent is a device interface (``PJSIP/1001``). Its state is derived, never stored: membership gives
logged in/out, pause (in every queue it serves) gives not ready with the reason, the agent's own ring
and connect events give ringing and on call — queue members that are Local channels report "in use"
while merely ringing, so device status alone cannot tell. A platform event goes out only when the
derived state, its reason, the queues or the call change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.core.events import AgentStateChanged, Event
from cti.ami import events as ami
from cti.calls.model import interface_of

IN_USE, BUSY, INVALID, UNAVAILABLE, RINGINUSE, ONHOLD = 2, 3, 4, 5, 7, 8


@dataclass
class Membership:
    paused: bool = False
    reason: str | None = None


@dataclass
class Agent:
    interface: str
    name: str | None = None
    queues: dict[str, Membership] = field(default_factory=dict)
    status: int | None = None
    in_call: bool = False
    ringing: set[str] = field(default_factory=set)  # call ids ringing this agent
    on_call: str | None = None
    published: tuple[object, ...] | None = None  # what the last event said

    def derived(self) -> tuple[str, str | None]:
        if not self.queues:
            return "logged_out", None
        if self.on_call:
            return "on_call", None
        if self.ringing:
            return "ringing", None
        if self.status in (INVALID, UNAVAILABLE):
            return "offline", None
        if all(m.paused for m in self.queues.values()):
            reasons = {m.reason for m in self.queues.values() if m.reason}
            return "not_ready", (reasons.pop() if len(reasons) == 1 else None)
        if self.in_call or self.status in (IN_USE, BUSY, RINGINUSE, ONHOLD):
            return "busy", None
        return "ready", None


class AgentModel:
    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def _agent(self, interface: str, name: str | None = None) -> Agent:
        agent = self.agents.get(interface)
        if agent is None:
            agent = self.agents[interface] = Agent(interface)
        if name:
            agent.name = name
        return agent

    def _changed(self, agent: Agent) -> list[Event]:
        state, reason = agent.derived()
        queues = tuple(sorted(agent.queues))
        call_id = agent.on_call or (min(agent.ringing) if agent.ringing else None)
        now = (state, reason, queues, call_id)
        if now == agent.published:
            return []
        agent.published = now
        return [AgentStateChanged(interface=agent.interface, agent_name=agent.name, state=state, reason=reason,
                                  queues=queues, call_id=call_id)]

    def handle(self, event: ami.AmiEvent) -> list[Event]:
        if isinstance(event, ami.MemberEvent):
            return self._member(event)
        if isinstance(event, ami.AgentEvent):
            return self._call_event(event)
        if isinstance(event, ami.DialEnd) and event.dest_channel and event.dial_status != "ANSWER":
            agent = self.agents.get(interface_of(event.dest_channel))
            if agent is not None and event.linkedid in agent.ringing:  # answered elsewhere, or caller gone
                agent.ringing.discard(event.linkedid)
                return self._changed(agent)
        return []

    def _member(self, e: ami.MemberEvent) -> list[Event]:
        agent = self._agent(e.interface, e.member_name)
        if isinstance(e, ami.QueueMemberRemoved):
            agent.queues.pop(e.queue, None)
        else:
            agent.queues[e.queue] = Membership(e.paused, e.paused_reason or None)
            agent.status, agent.in_call = e.status, e.in_call
        return self._changed(agent)

    def _call_event(self, e: ami.AgentEvent) -> list[Event]:
        agent = self._agent(e.interface or interface_of(e.dest_channel or ""), e.member_name)
        if e.queue:  # a queue ringing an agent proves membership (static members announce nothing else)
            agent.queues.setdefault(e.queue, Membership())
        call_id = e.linkedid
        if isinstance(e, ami.AgentCalled):
            agent.ringing.add(call_id)
        elif isinstance(e, ami.AgentRingNoAnswer):
            agent.ringing.discard(call_id)
        elif isinstance(e, ami.AgentConnect):
            agent.ringing.discard(call_id)
            agent.on_call = call_id
        elif isinstance(e, ami.AgentComplete) and agent.on_call == call_id:
            agent.on_call = None
        return self._changed(agent)

    def resync(self, members: list[ami.QueueMember]) -> list[Event]:
        """Rebuild membership from QueueStatus after a reconnect; only real changes produce events."""
        seen: dict[str, dict[str, Membership]] = {}
        for m in members:
            agent = self._agent(m.interface, m.member_name)
            seen.setdefault(m.interface, {})[m.queue] = Membership(m.paused, m.paused_reason or None)
            agent.status, agent.in_call = m.status, m.in_call
        out: list[Event] = []
        for interface, agent in self.agents.items():
            agent.queues = seen.get(interface, {})
            agent.ringing.clear()  # calls are reconciled separately; a ring in flight is not recoverable
            if not agent.in_call:
                agent.on_call = None
            out.extend(self._changed(agent))
        return out
