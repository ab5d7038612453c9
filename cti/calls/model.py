"""The call model: channels tracked by Uniqueid, grouped into calls by Linkedid.

It is fed typed AMI events strictly in arrival order (with the time each arrived, since AMI events
carry none) and answers each with the platform events it implies. It keeps nothing but live state:
a call is forgotten once its last channel hangs up. It never asks AMI anything.

Nothing here relies on Local-channel specifics: the call's origin is the channel whose Uniqueid is
the Linkedid (a trunk channel in production), agents are recognised from queue events or, on
outbound calls, from the origin dialling out. A click-to-call is the other way round: its origin is
the agent's own phone (the command says so), and the customer is the party that phone dials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backend.core.events import (
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallTransferred,
    Event,
    OriginateResult,
    Transfer,
)
from cti.ami import events as ami

log = logging.getLogger("lianluo.cti.calls")

ORIGINATE_REASONS = {0: "failed", 1: "hung up", 3: "no answer", 4: "answered", 5: "busy", 8: "congestion"}
UNKNOWN_CALLER = {"", "<unknown>", "unknown"}


def interface_of(channel_name: str) -> str:
    """The device a channel belongs to: ``PJSIP/1001-0000001a`` → ``PJSIP/1001``;
    ``Local/agent1001@agents-00000002;1`` → ``Local/agent1001@agents``."""
    base = channel_name.split(";", 1)[0]
    head, sep, tail = base.rpartition("-")
    return head if sep and tail and all(c in "0123456789abcdef" for c in tail.lower()) else base


@dataclass
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    created_at: datetime
    caller: str | None = None
    cause: int | None = None
    cause_txt: str | None = None


@dataclass
class Call:
    call_id: str
    origin: str  # Uniqueid of the origin channel
    origin_name: str
    direction: str
    started_at: datetime
    caller: str | None = None
    dialled: str | None = None
    command_id: str | None = None
    channels: set[str] = field(default_factory=set)
    ivr: dict[str, str] = field(default_factory=dict)
    queue: str | None = None
    queue_position: int | None = None
    queued_at: datetime | None = None
    ringing: dict[str, datetime] = field(default_factory=dict)  # agent interface → when it started ringing
    agent_interface: str | None = None
    agent_name: str | None = None
    answered_at: datetime | None = None
    abandoned: bool = False
    abandoned_wait: float | None = None
    ring_seconds: float | None = None
    held: dict[str, datetime] = field(default_factory=dict)  # channel Uniqueid → on hold since
    hold_seconds: float = 0.0
    transfers: list[Transfer] = field(default_factory=list)
    reoffered: bool = False  # transferred since the last answer
    recording_file: str | None = None
    cause: int | None = None
    cause_txt: str | None = None
    dialler: str | None = None  # click-to-call: the agent phone that placed the call (its origin)
    party: str | None = None  # click-to-call: Uniqueid of the customer's channel that phone dialled


@dataclass(frozen=True)
class _Originate:
    command_id: str
    dial_string: str
    agent: str | None = None  # the agent phone the originate rings first (click-to-call)


class CallModel:
    def __init__(self, *, ivr_prefixes: tuple[str, ...] = ("IVR_",)) -> None:
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self._originates: dict[str, _Originate] = {}  # ActionID → what we asked for
        self._ivr_prefixes = ivr_prefixes

    # --- outbound correlation

    def expect_originate(self, action_id: str, command_id: str, dial_string: str,
                         agent_interface: str | None = None) -> None:
        """Register an Originate we sent, so its channels and its OriginateResponse find their command.
        ``agent_interface``: the dial string is that agent's phone (click-to-call)."""
        self._originates[action_id] = _Originate(command_id, dial_string, agent_interface)

    def forget_originate(self, action_id: str) -> None:
        """The Originate was refused outright: no OriginateResponse will follow."""
        self._originates.pop(action_id, None)

    def origin_channel(self, call_id: str) -> str | None:
        """The name of the call's origin channel (the customer's side), while the call is live."""
        call = self.calls.get(call_id)
        if call is None or call.origin not in self.channels:
            return None
        return call.origin_name

    def customer_channel(self, call_id: str) -> str | None:
        """The name of the customer's live channel: the origin, or on a click-to-call the party dialled."""
        call = self.calls.get(call_id)
        if call is None or call.dialler is None:
            return self.origin_channel(call_id)
        party = self.channels.get(call.party or "")
        return party.name if party is not None else None

    def agent_of(self, call_id: str) -> str | None:
        """The agent phone a live call is with: the one that answered it, or that placed it."""
        call = self.calls.get(call_id)
        return (call.agent_interface or call.dialler) if call is not None else None

    def channel_on(self, call_id: str, interface: str) -> str | None:
        """The call's live channel on ``interface`` (an agent's phone), if any; of a Local pair, the ``;1``
        half, which is the one bridged with the caller."""
        call = self.calls.get(call_id)
        names = [c.name for c in (self.channels.get(u) for u in (call.channels if call else ())) if c is not None]
        return min((n for n in names if interface_of(n) == interface), default=None)

    def _originate_for(self, channel_name: str) -> _Originate | None:
        for pending in self._originates.values():
            if channel_name.startswith(pending.dial_string + "-") or channel_name == pending.dial_string:
                return pending
        return None

    # --- the event loop

    def handle(self, event: ami.AmiEvent, at: datetime) -> list[Event]:
        handler = getattr(self, f"_on_{event.name}", None)
        return handler(event, at) if handler is not None else []

    def _call_of(self, uniqueid: str | None) -> Call | None:
        channel = self.channels.get(uniqueid or "")
        return self.calls.get(channel.linkedid) if channel else None

    def _base(self, call: Call) -> dict[str, object]:
        return {"call_id": call.call_id, "direction": call.direction, "caller": call.caller, "dialled": call.dialled}

    def _on_Newchannel(self, e: ami.Newchannel, at: datetime) -> list[Event]:  # noqa: N802
        caller = None if (e.caller_num or "") in UNKNOWN_CALLER else e.caller_num
        if e.uniqueid != e.linkedid:
            call = self.calls.get(e.linkedid)
            if call is None:
                log.debug("channel %s joins call %s never seen; ignored", e.channel, e.linkedid)
                return []
            self.channels[e.uniqueid] = Channel(e.uniqueid, e.channel, e.linkedid, at, caller)
            call.channels.add(e.uniqueid)
            return []
        self.channels[e.uniqueid] = Channel(e.uniqueid, e.channel, e.linkedid, at, caller)
        pending = self._originate_for(e.channel)
        command_id = pending.command_id if pending else None
        direction = "outbound" if command_id else "inbound"
        dialled = e.exten if e.exten not in (None, "", "s") else None
        call = Call(e.linkedid, e.uniqueid, e.channel, direction, at, caller=caller, dialled=dialled,
                    command_id=command_id, channels={e.uniqueid}, dialler=pending.agent if pending else None)
        self.calls[call.call_id] = call
        offered: list[Event] = [CallOffered(**self._base(call), origin_channel=e.channel, command_id=command_id)]
        # A click-to-call rings the agent's phone first: that ring is the agent's, the call theirs from now on.
        return offered + (self._ring(call, call.dialler, None, at) if call.dialler else [])

    def _on_NewCallerid(self, e: ami.NewCallerid, at: datetime) -> list[Event]:  # noqa: N802
        channel = self.channels.get(e.uniqueid)
        if channel is not None and (e.caller_num or "") not in UNKNOWN_CALLER:
            channel.caller = e.caller_num
            call = self.calls.get(channel.linkedid)
            if call is not None and call.origin == e.uniqueid:
                call.caller = e.caller_num
        return []

    def _on_VarSet(self, e: ami.VarSet, at: datetime) -> list[Event]:  # noqa: N802
        if e.variable.startswith(self._ivr_prefixes):
            call = self._call_of(e.uniqueid)
            if call is not None:
                call.ivr[e.variable] = e.value
        elif e.variable == "MIXMONITOR_FILENAME" and e.value:
            call = self._call_of(e.uniqueid)
            if call is not None:  # the folder is the PBX's; the platform reads its own copy by name
                call.recording_file = e.value.replace("\\", "/").rsplit("/", 1)[-1]
        return []

    def _on_QueueCallerJoin(self, e: ami.QueueCallerJoin, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None:
            return []
        if call.queued_at is None:  # the record keeps the first queue; a transfer may queue the caller again
            call.queue, call.queue_position, call.queued_at = e.queue, e.position, at
        return [CallQueued(**self._base(call), queue=e.queue, position=e.position, ivr=dict(call.ivr))]

    def _ring(self, call: Call, interface: str, name: str | None, at: datetime) -> list[Event]:
        if interface in call.ringing:  # Asterisk repeats some Dial events; one ring, one event
            return []
        call.ringing[interface] = at
        return [AgentRinging(**self._base(call), queue=call.queue, agent_interface=interface, agent_name=name,
                             ivr=dict(call.ivr))]

    def _on_AgentCalled(self, e: ami.AgentCalled, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None:
            return []
        return self._ring(call, e.interface or interface_of(e.dest_channel or ""), e.member_name, at)

    def _answered(self, call: Call, interface: str, name: str | None, at: datetime,
                  ring_seconds: float | None = None) -> list[Event]:
        rang = call.ringing.get(interface)
        if ring_seconds is None and rang is not None:
            ring_seconds = (at - rang).total_seconds()
        if call.answered_at is None:
            # The record's agent, talk and ring time are the first answer's: who took the caller.
            call.answered_at, call.agent_interface, call.agent_name = at, interface, name
            call.ring_seconds = ring_seconds
        elif not call.reoffered:
            return []
        call.reoffered = False
        wait = (at - call.queued_at).total_seconds() if call.queued_at else None
        return [CallAnswered(**self._base(call), queue=call.queue, agent_interface=interface, agent_name=name,
                             wait_seconds=wait, ring_seconds=ring_seconds)]

    def _on_AgentConnect(self, e: ami.AgentConnect, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None:
            return []
        interface = e.interface or interface_of(e.dest_channel or "")
        return self._answered(call, interface, e.member_name, at,
                              float(e.ring_time) if e.ring_time is not None else None)

    def _on_DialBegin(self, e: ami.DialBegin, at: datetime) -> list[Event]:  # noqa: N802
        # On outbound calls the answered customer's channel dials the agent: that ring is the screen pop.
        call = self._call_of(e.uniqueid)
        if call is None or call.direction != "outbound" or e.uniqueid != call.origin or not e.dest_channel:
            return []
        if call.dialler:  # the agent's phone dials the customer: no agent is rung
            call.party = e.dest_uniqueid
            return []
        return self._ring(call, interface_of(e.dest_channel), None, at)

    def _on_DialEnd(self, e: ami.DialEnd, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None or call.direction != "outbound" or e.dial_status != "ANSWER" or not e.dest_channel:
            return []
        if call.dialler:  # the customer picked up: the talk with the agent who dialled begins
            return self._answered(call, call.dialler, None, at, call.ring_seconds) if e.uniqueid == call.origin else []
        return self._answered(call, interface_of(e.dest_channel), None, at)

    def _on_QueueCallerAbandon(self, e: ami.QueueCallerAbandon, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None:
            return []
        call.abandoned = True
        wait = (at - call.queued_at).total_seconds() if call.queued_at else e.hold_time
        call.abandoned_wait = wait
        return [CallAbandoned(**self._base(call), queue=e.queue, position=e.position, wait_seconds=wait)]

    def _on_Hold(self, e: ami.Hold, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None or e.uniqueid in call.held:
            return []
        call.held[e.uniqueid] = at
        return [CallHeld(**self._base(call), channel=e.channel)]

    def _on_Unhold(self, e: ami.Unhold, at: datetime) -> list[Event]:  # noqa: N802
        call = self._call_of(e.uniqueid)
        if call is None or e.uniqueid not in call.held:
            return []
        call.hold_seconds += (at - call.held.pop(e.uniqueid)).total_seconds()
        return [CallResumed(**self._base(call), channel=e.channel)]

    def _on_BlindTransfer(self, e: ami.BlindTransfer, at: datetime) -> list[Event]:  # noqa: N802
        call = self.calls.get(e.transferer_linkedid or "")
        if call is None or e.result != "Success":
            return []
        return self.transferred(call.call_id, "blind", f"{e.extension}@{e.context}", at)

    def _on_AttendedTransfer(self, e: ami.AttendedTransfer, at: datetime) -> list[Event]:  # noqa: N802
        call = self.calls.get(e.orig_transferer_linkedid or "")
        if call is None or e.result != "Success":
            return []
        target = interface_of(e.transfer_target_channel) if e.transfer_target_channel else None
        return self.transferred(call.call_id, "attended", target, at)

    def transferred(self, call_id: str, kind: str, target: str | None, at: datetime) -> list[Event]:
        """Record a transfer; also called by the bridge for its own Redirect, which Asterisk reports
        with no transfer event of its own."""
        call = self.calls.get(call_id)
        if call is None:
            return []
        call.transfers.append(Transfer(kind=kind, target=target, at=at))
        # The caller is offered anew: the next agent's ring and answer are events (their screen pop).
        call.ringing.clear()
        call.reoffered = True
        return [CallTransferred(**self._base(call), kind=kind, target=target)]

    def _on_OriginateResponse(self, e: ami.OriginateResponse, at: datetime) -> list[Event]:  # noqa: N802
        pending = self._originates.pop(e.action_id or "", None)
        if pending is None:
            return []
        # A failure names the dial string and Uniqueid "<unknown>": find the call by the command instead.
        channel = self.channels.get(e.uniqueid)
        call_id = channel.linkedid if channel else next(
            (c.call_id for c in self.calls.values() if c.command_id == pending.command_id), None)
        call = self.calls.get(call_id or "")
        if call is not None and call.dialler and e.response == "Success" and call.dialler in call.ringing:
            # The agent picked up their phone: how long it rang (the customer's ring is not the agent's).
            call.ring_seconds = (at - call.ringing[call.dialler]).total_seconds()
        return [OriginateResult(command_id=pending.command_id, success=e.response == "Success", reason=e.reason,
                                reason_text=ORIGINATE_REASONS.get(e.reason if e.reason is not None else 0, "failed"),
                                call_id=call_id)]

    def _on_Hangup(self, e: ami.Hangup, at: datetime) -> list[Event]:  # noqa: N802
        channel = self.channels.pop(e.uniqueid, None)
        if channel is None:
            return []
        call = self.calls.get(channel.linkedid)
        if call is None:
            return []
        if e.uniqueid in call.held:  # a held leg that hangs up (the agent completing a transfer) gets no Unhold
            call.hold_seconds += (at - call.held.pop(e.uniqueid)).total_seconds()
        # The origin's cause tells how the call ended; failing that the first real one (a busy far end
        # says 17 while the origin half says 0, "unknown"); "unknown" only if nothing says more.
        if e.cause and (e.uniqueid == call.origin or not call.cause) or call.cause is None:
            call.cause, call.cause_txt = e.cause, e.cause_txt
        call.channels.discard(e.uniqueid)
        if call.channels:
            return []
        del self.calls[call.call_id]
        return [self._ended(call, at)]

    # --- resync after a reconnect

    def resync(self, live: list[ami.CoreShowChannel], at: datetime) -> list[Event]:
        """Reconcile with the channels Asterisk reports after a reconnect, before any new event.

        Calls whose channels are all gone ended while the bridge was away: they end now, marked
        ``lost_during_outage``. Calls that began meanwhile are offered now. Calls still up and already
        known produce nothing, so a consumer never sees an event twice.
        """
        present = {c.uniqueid for c in live}
        out: list[Event] = []
        for call in list(self.calls.values()):
            for uniqueid in call.channels - present:
                self.channels.pop(uniqueid, None)
            call.channels &= present
            if not call.channels:
                del self.calls[call.call_id]
                out.append(self._ended(call, at, lost=True))
        # origins first, so the other legs of a new call find it
        for channel in sorted(live, key=lambda c: c.uniqueid != c.linkedid):
            if channel.uniqueid in self.channels:
                continue
            started = at - timedelta(seconds=channel.duration_seconds)
            out.extend(self._on_Newchannel(ami.Newchannel(
                channel=channel.channel, uniqueid=channel.uniqueid, linkedid=channel.linkedid,
                caller_num=channel.caller_num, context=channel.context, exten=channel.exten), started))
        return out

    def _ended(self, call: Call, at: datetime, *, lost: bool = False) -> CallEnded:
        talk = (at - call.answered_at).total_seconds() if call.answered_at else None
        hold = call.hold_seconds + sum((at - since).total_seconds() for since in call.held.values())
        if call.answered_at and call.queued_at:
            wait: float | None = (call.answered_at - call.queued_at).total_seconds()
        else:
            wait = call.abandoned_wait if call.abandoned else (
                (at - call.queued_at).total_seconds() if call.queued_at else None)
        return CallEnded(**self._base(call), hangup_cause=call.cause, hangup_cause_text=call.cause_txt,
                         answered=call.answered_at is not None, abandoned=call.abandoned, queue=call.queue,
                         agent_interface=call.agent_interface or call.dialler, agent_name=call.agent_name,
                         duration_seconds=(at - call.started_at).total_seconds(), talk_seconds=talk,
                         lost_during_outage=lost, command_id=call.command_id, started_at=call.started_at,
                         answered_at=call.answered_at, ended_at=at, ivr=dict(call.ivr), wait_seconds=wait,
                         ring_seconds=call.ring_seconds, hold_seconds=round(hold, 6),
                         transfers=tuple(call.transfers), recording_file=call.recording_file)
