"""Every platform event type, defined once. Events are versioned pydantic models; JSON on the wire.

An event knows which stream carries it and whom it is for (named users, or an org subtree), so a
consumer such as the websocket hub routes by data, never by ad-hoc rules. Later capabilities (CTI,
IVR, tickets) add their event classes here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    stream: ClassVar[str]

    # Audience: the users named, or else everyone whose org scope contains ``org_path``.
    org_path: str | None = None
    user_ids: tuple[int, ...] = ()

    def is_for(self, user_id: int, scope_path: str | None) -> bool:
        """Whether the user (with the org scope rooted at ``scope_path``; None = everything) may receive this."""
        if self.user_ids:
            return user_id in self.user_ids
        if self.org_path is None:
            return False
        return scope_path is None or self.org_path.startswith(scope_path)


_REGISTRY: dict[tuple[str, int], type[Event]] = {}


E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    key = (cls.type, cls.version)
    if key in _REGISTRY:
        raise RuntimeError(f"event type {key} defined twice")
    _REGISTRY[key] = cls
    return cls


def event_class(type_: str, version: int) -> type[Event] | None:
    return _REGISTRY.get((type_, version))


class UnknownEvent(Exception):
    """A stream entry this process cannot read: a type/version it does not know (written by a newer
    release, say) or data that does not fit its type. Consumers skip it and go on."""


@dataclass(frozen=True)
class Envelope:
    """An event as carried by the bus: the bus-assigned id, when and where it happened."""

    id: str
    stream: str
    event: Event
    occurred_at: datetime
    node: str | None = None

    @staticmethod
    def encode(event: Event, occurred_at: datetime, node: str | None) -> str:
        return json.dumps(
            {"type": event.type, "v": event.version, "at": occurred_at.isoformat(), "node": node,
             "data": event.model_dump(mode="json")},
            ensure_ascii=False, separators=(",", ":"),
        )

    @classmethod
    def decode(cls, id_: str, stream: str, raw: str | bytes) -> Envelope:
        try:
            wire: dict[str, Any] = json.loads(raw)
            klass = event_class(wire["type"], wire["v"])
            if klass is None:
                raise UnknownEvent(f"{wire.get('type')} v{wire.get('v')}")
            at = datetime.fromisoformat(wire["at"])
            return cls(id_, stream, klass.model_validate(wire["data"]), at.astimezone(UTC), wire.get("node"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # ValidationError is a ValueError
            # A known type with data it cannot be (a bug, or a hand-written entry): as unreadable as an unknown one.
            raise UnknownEvent(f"undecodable entry: {str(exc)[:200]}") from exc


# --- security stream: logins and lockouts (consumed by audit dashboards and, later, agent presence)


@register
class UserLoggedIn(Event):
    type: ClassVar[str] = "auth.logged_in"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str
    client_ip: str | None = None


@register
class UserLoggedOut(Event):
    type: ClassVar[str] = "auth.logged_out"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str


@register
class UserLocked(Event):
    type: ClassVar[str] = "auth.locked"
    stream: ClassVar[str] = "security"
    user_id: int
    username: str
    locked_until: datetime


# --- calls stream: what the CTI bridge saw on one PBX node (``node`` on the envelope names it)


class CallEvent(Event):
    """Every call event names the call (the PBX's Linkedid) and carries what a consumer needs."""

    stream: ClassVar[str] = "calls"
    call_id: str
    direction: str  # inbound | outbound
    caller: str | None = None
    dialled: str | None = None


@register
class CallOffered(CallEvent):
    """A new call reached the PBX (inbound) or was placed by it (outbound)."""

    type: ClassVar[str] = "call.offered"
    origin_channel: str
    command_id: str | None = None  # the originate command that placed it, for outbound calls


@register
class CallQueued(CallEvent):
    type: ClassVar[str] = "call.queued"
    queue: str
    position: int | None = None
    ivr: dict[str, str] = {}


@register
class AgentRinging(CallEvent):
    """A queue rings an agent: the screen pop's source."""

    type: ClassVar[str] = "call.agent_ringing"
    queue: str | None = None
    agent_interface: str
    agent_name: str | None = None
    ivr: dict[str, str] = {}


@register
class CallAnswered(CallEvent):
    type: ClassVar[str] = "call.answered"
    queue: str | None = None
    agent_interface: str | None = None
    agent_name: str | None = None
    wait_seconds: float | None = None  # time in queue before the answer
    ring_seconds: float | None = None


@register
class CallHeld(CallEvent):
    type: ClassVar[str] = "call.held"
    channel: str


@register
class CallResumed(CallEvent):
    type: ClassVar[str] = "call.resumed"
    channel: str


@register
class CallTransferred(CallEvent):
    type: ClassVar[str] = "call.transferred"
    kind: str  # blind | attended
    target: str | None = None


@register
class CallAbandoned(CallEvent):
    """The caller hung up while waiting in a queue."""

    type: ClassVar[str] = "call.abandoned"
    queue: str
    position: int | None = None
    wait_seconds: float | None = None


class Transfer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # blind | attended
    target: str | None = None
    at: datetime


@register
class CallEnded(CallEvent):
    """The whole call, summed up when its last channel hangs up: everything a call-detail record needs,
    so the consumer that writes it never asks the PBX anything."""

    type: ClassVar[str] = "call.ended"
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None
    answered: bool
    abandoned: bool = False
    queue: str | None = None
    agent_interface: str | None = None
    agent_name: str | None = None
    duration_seconds: float
    talk_seconds: float | None = None
    lost_during_outage: bool = False
    command_id: str | None = None  # the originate command that placed an outbound call
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ivr: dict[str, str] = {}  # variables the IVR set (its path through the menus)
    wait_seconds: float | None = None  # in queue, until answered or abandoned
    ring_seconds: float | None = None  # the answering agent's phone ringing
    hold_seconds: float = 0.0
    transfers: tuple[Transfer, ...] = ()
    recording_file: str | None = None  # file name as MixMonitor wrote it (no folder)


@register
class OriginateResult(Event):
    """The PBX's answer to an originate command (click-to-call, campaign dial)."""

    type: ClassVar[str] = "call.originate_result"
    stream: ClassVar[str] = "calls"
    command_id: str
    success: bool
    reason: int | None = None  # Asterisk's: 4 answered, 3 no answer, 5 busy, 0/1/8 failed
    reason_text: str
    call_id: str | None = None


# --- agents stream: queue agents' states on one PBX node


@register
class AgentStateChanged(Event):
    """An agent's state as the PBX sees it, whoever changed it (console, phone, supervisor, another tool).

    ``state``: logged_out 签出, ready 示闲, not_ready 示忙 (``reason`` says why: 小休, 培训, 话后处理 …),
    ringing 振铃, on_call 通话中, busy (on a call that did not come through a queue), offline (phone
    unregistered). The agent is named by its device interface; the platform maps it to a user.
    """

    type: ClassVar[str] = "agent.state"
    stream: ClassVar[str] = "agents"
    interface: str
    agent_name: str | None = None
    state: str
    reason: str | None = None
    queues: tuple[str, ...] = ()
    call_id: str | None = None


# --- commands stream: what the platform asks a PBX node to do, and the node's answer


class CtiCommand(Event):
    """A command for the ``cti`` process of one PBX node (``node``). Each is answered by exactly one
    :class:`CommandResult` with the same ``command_id``; a node that is down answers nothing, so the
    sender waits a bounded time."""

    stream: ClassVar[str] = "commands"
    command_id: str
    node: str
    requested_by: int | None = None  # user id, for the PBX log and the audit trail


@register
class OriginateCommand(CtiCommand):
    """Place a call: ``channel`` is dialled first, and once it answers the call continues at
    ``exten@context`` (click-to-call rings the agent's phone first; a campaign dials the customer first)."""

    type: ClassVar[str] = "command.originate"
    channel: str
    context: str
    exten: str
    priority: int = 1
    caller_id: str | None = None
    timeout_seconds: int = 30
    variables: dict[str, str] = {}


@register
class ClickToCallCommand(OriginateCommand):
    """Click-to-call: ``channel`` is the agent's own phone, rung first; once the agent picks up it dials out
    through ``exten@context``. The call is that agent's from its first event (it rings their phone), and the
    customer is the party the phone's channel dials."""

    type: ClassVar[str] = "command.click_to_call"


class CallCommand(CtiCommand):
    """A command on a live call. With ``agent_interface`` (an agent acting on their own call) the node
    refuses unless that phone is on the call; supervisors send it without."""

    call_id: str
    agent_interface: str | None = None


@register
class HangupCommand(CallCommand):
    type: ClassVar[str] = "command.hangup"


@register
class BlindTransferCommand(CallCommand):
    """Send the caller's side of the call to ``exten@context`` (AMI Redirect); the agent's leg drops."""

    type: ClassVar[str] = "command.blind_transfer"
    context: str
    exten: str


@register
class AttendedTransferCommand(CallCommand):
    """The agent on ``agent_interface`` consults ``exten@context`` first, then completes (AMI Atxfer)."""

    type: ClassVar[str] = "command.attended_transfer"
    agent_interface: str
    context: str
    exten: str


@register
class AttendedTransferFinishCommand(CallCommand):
    """The agent on ``agent_interface`` ends the consultation an attended transfer began: ``complete`` hands
    the caller to the consulted party (the agent's leg hangs up, as when the agent puts the phone down);
    otherwise the consulted party is dropped and the agent is back with the caller (features.conf atxferabort)."""

    type: ClassVar[str] = "command.attended_transfer_finish"
    agent_interface: str
    complete: bool


@register
class HoldCommand(CallCommand):
    """Hold (``on``) or resume the call on the agent's SIP phone, as the phone's own hold key would: the phone
    is sent a SIP NOTIFY (``Event: hold`` / ``Event: talk``) that it acts on (cti.commands says how). The PBX
    then reports Hold/Unhold (``call.held`` / ``call.resumed``). Without ``agent_interface`` (a supervisor) it
    is the phone of the agent on the call."""

    type: ClassVar[str] = "command.hold"
    on: bool


@register
class PauseCommand(CtiCommand):
    """Not ready (``paused``, with a reason such as 示忙 小休 培训 话后处理) or ready again, in ``queue`` or all."""

    type: ClassVar[str] = "command.pause"
    interface: str
    paused: bool
    reason: str | None = None
    queue: str | None = None


@register
class QueueAddCommand(CtiCommand):
    type: ClassVar[str] = "command.queue_add"
    interface: str
    queue: str
    member_name: str | None = None
    penalty: int = 0
    paused: bool = True  # an agent who just logged in says ready when ready


@register
class QueueRemoveCommand(CtiCommand):
    type: ClassVar[str] = "command.queue_remove"
    interface: str
    queue: str


@register
class RecordingCommand(CallCommand):
    """Start (MixMonitor) or stop (StopMixMonitor) recording the call."""

    type: ClassVar[str] = "command.recording"
    start: bool


@register
class SpyCommand(CallCommand):
    """A supervisor listens in on (``listen``) or whispers to the agent of (``whisper``) a live call: the
    supervisor's phone ``supervisor_interface`` is originated into ChanSpy on the channel of the agent's
    phone ``agent_interface`` (the node refuses unless that phone is on the call). The caller never hears
    the supervisor; in whisper mode the agent does. The outcome of ringing the supervisor's phone arrives
    as ``call.originate_result`` with this ``command_id``."""

    type: ClassVar[str] = "command.spy"
    agent_interface: str
    supervisor_interface: str
    mode: Literal["listen", "whisper"]
    caller_id: str | None = None
    timeout_seconds: int = 30


@register
class CommandResult(Event):
    """The node's answer to a command: ``ok``, or the PBX's own words in ``error``."""

    type: ClassVar[str] = "command.result"
    stream: ClassVar[str] = "commands"
    command_id: str
    ok: bool
    error: str | None = None
    call_id: str | None = None


# --- ivr stream: what callers did in the IVR (``lianluo ivr``)


@register
class IvrSessionEnded(Event):
    """One run of an IVR flow on a call, with every step (node, digits, lookups, time spent): the raw
    material of the IVR reports (containment, where callers drop out, invalid input)."""

    type: ClassVar[str] = "ivr.session_ended"
    stream: ClassVar[str] = "ivr"
    call_id: str  # the channel's Uniqueid: the call id the CTI uses for an inbound call
    channel: str | None = None
    caller: str | None = None
    dialled: str | None = None
    flow: str
    outcome: str  # queued | transferred | callback | self_service | hung_up | caller_hung_up | error
    service: str | None = None  # what the caller chose: 报案 投诉 咨询 保单查询 人工
    queue: str | None = None
    priority: int | None = None
    customer_id: int | None = None
    variables: dict[str, str] = {}  # channel variables the flow set
    path: tuple[dict[str, Any], ...] = ()
    started_at: datetime
    ended_at: datetime


@register
class CallbackRequested(Event):
    """A caller asked to be called back (out of hours, or by choice): a task for the campaign dialer."""

    type: ClassVar[str] = "ivr.callback_requested"
    stream: ClassVar[str] = "ivr"
    call_id: str
    phone: str | None
    service: str
    flow: str
    customer_id: int | None = None
    requested_at: datetime
    due_at: datetime  # the next time agents are there to call (business hours, holidays)


# --- tickets stream: workflow notices for the people who must act (the hub delivers them; the worker's
# notification channels may forward them by SMS or mail)


@register
class TicketNotice(Event):
    """Something a unit must know about a ticket now: it was assigned to them, supervised (督办) or urged
    (催办) by a superior, its step or decision deadline is due soon, or it is overdue and was escalated.
    Addressed to the org whose subtree must act (``org_path``) or to named users."""

    type: ClassVar[str] = "ticket.notice"
    stream: ClassVar[str] = "tickets"
    kind: str  # assigned | supervised | urged | due_soon | overdue
    ticket_id: int
    ticket_number: str
    step: str | None = None
    due_at: datetime | None = None
    message: str
