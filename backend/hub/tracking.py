"""What later events do not repeat, remembered from earlier ones: the phones a call rang, who sent a command,
which queues each agent phone is in.

All are caches rebuilt from the bus (the hub reads back a window when it starts following a stream),
bounded so a long-running process does not grow without end (queue membership by the number of phones).
"""

from __future__ import annotations

from collections import OrderedDict

from backend.core.bus import parse_id
from backend.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
    CallQueued,
    CtiCommand,
    Envelope,
)


def interface_of_channel(channel: str) -> str:
    """``PJSIP/1001-0000002a`` → ``PJSIP/1001`` (the device a channel was opened on)."""
    head, sep, _suffix = channel.rpartition("-")
    return head if sep and "/" in head else channel


def agent_interface(event: CallEvent) -> str | None:
    """The agent phone an event says the call reached, if it says one."""
    if isinstance(event, AgentRinging):
        return event.agent_interface
    if isinstance(event, (CallAnswered, CallEnded)):
        return event.agent_interface
    if isinstance(event, CallOffered) and event.direction == "outbound" and event.command_id:
        # Click-to-call rings the agent's own phone first: the call is theirs from the start.
        return interface_of_channel(event.origin_channel)
    return None


def queue_moved(event: CallEvent) -> str | None:
    """The queue a call joins (queued) or leaves (answered from it, abandoned, ended without an agent) with this
    event: the events that change a queue's live figures (calls waiting, longest wait, answered, abandoned)."""
    if isinstance(event, (CallQueued, CallAbandoned)):
        return event.queue
    if isinstance(event, CallAnswered) or (isinstance(event, CallEnded) and not event.answered):
        return event.queue
    return None


class CallAgents:
    """Call id → the agent interfaces the call rang or was answered by."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._calls: OrderedDict[str, frozenset[str]] = OrderedDict()

    def observe(self, event: CallEvent) -> None:
        interface = agent_interface(event)
        if not interface:
            return
        known = self._calls.get(event.call_id, frozenset())
        self._calls[event.call_id] = known | {interface}
        self._calls.move_to_end(event.call_id)
        while len(self._calls) > self._capacity:
            self._calls.popitem(last=False)

    def of(self, call_id: str) -> frozenset[str]:
        return self._calls.get(call_id, frozenset())


class CommandOwners:
    """Command id → the user who sent it."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._owners: OrderedDict[str, int] = OrderedDict()

    def observe(self, command: CtiCommand) -> None:
        if command.requested_by is None:
            return
        self._owners[command.command_id] = command.requested_by
        while len(self._owners) > self._capacity:
            self._owners.popitem(last=False)

    def of(self, command_id: str) -> int | None:
        return self._owners.get(command_id)


class QueueMembers:
    """(node, queue) → the agent phones in it. Each ``agent.state`` event lists all the queues of its phone, so
    the latest one per phone (by bus id) is the truth: an older event seen later (a warm-up running beside the
    live feed, a client's replay) changes nothing."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str | None, str], tuple[tuple[int, int], frozenset[str]]] = {}
        self._members: dict[tuple[str | None, str], set[str]] = {}

    def observe(self, envelope: Envelope) -> None:
        event = envelope.event
        assert isinstance(event, AgentStateChanged)
        phone, at = (envelope.node, event.interface), parse_id(envelope.id)
        known_at, before = self._queues.get(phone, ((-1, -1), frozenset()))
        if at <= known_at:
            return
        now = frozenset(event.queues)
        self._queues[phone] = (at, now)
        for queue in before - now:
            members = self._members[(envelope.node, queue)]
            members.discard(event.interface)
            if not members:
                del self._members[(envelope.node, queue)]
        for queue in now - before:
            self._members.setdefault((envelope.node, queue), set()).add(event.interface)

    def of(self, node: str | None, queue: str) -> frozenset[str]:
        return frozenset(self._members.get((node, queue), ()))
