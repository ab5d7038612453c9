"""Typed AMI events: raw messages become dataclasses at the door of cti/, so nothing deeper reads
AMI header names. Only the events the call and agent models use are typed; ``to_typed`` returns
None for the rest (Newexten, DeviceStateChange, DTMF, …), cheaply, by one dict lookup.

Each class lists its headers once, as field metadata; one generic converter reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Optional, get_type_hints

from cti.ami.frames import AmiMessage


def h(header: str, default: Any = None) -> Any:
    """A field read from AMI header ``header`` (missing → ``default``)."""
    return field(default=default, metadata={"ami": header})


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("1", "yes", "true", "on")


@dataclass(frozen=True, slots=True)
class AmiEvent:
    name: ClassVar[str]
    action_id: str | None = h("ActionID")


@dataclass(frozen=True, slots=True)
class ChannelEvent(AmiEvent):
    """Headers every channel event carries."""

    channel: str = h("Channel", "")
    uniqueid: str = h("Uniqueid", "")
    linkedid: str = h("Linkedid", "")
    state: int | None = h("ChannelState")
    caller_num: str | None = h("CallerIDNum")
    caller_name: str | None = h("CallerIDName")
    connected_num: str | None = h("ConnectedLineNum")
    context: str | None = h("Context")
    exten: str | None = h("Exten")


@dataclass(frozen=True, slots=True)
class DialEvent(ChannelEvent):
    """Dial*/Agent* events: the caller is ``channel``; the leg being dialled is ``dest_*``."""

    dest_channel: str | None = h("DestChannel")
    dest_uniqueid: str | None = h("DestUniqueid")
    dest_linkedid: str | None = h("DestLinkedid")
    dest_caller_num: str | None = h("DestCallerIDNum")


@dataclass(frozen=True, slots=True)
class Newchannel(ChannelEvent):
    name: ClassVar[str] = "Newchannel"


@dataclass(frozen=True, slots=True)
class NewCallerid(ChannelEvent):
    name: ClassVar[str] = "NewCallerid"


@dataclass(frozen=True, slots=True)
class Newstate(ChannelEvent):
    name: ClassVar[str] = "Newstate"
    state_desc: str | None = h("ChannelStateDesc")


@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    name: ClassVar[str] = "Hangup"
    cause: int | None = h("Cause")
    cause_txt: str | None = h("Cause-txt")


@dataclass(frozen=True, slots=True)
class VarSet(ChannelEvent):
    name: ClassVar[str] = "VarSet"
    variable: str = h("Variable", "")
    value: str = h("Value", "")


@dataclass(frozen=True, slots=True)
class CoreShowChannel(ChannelEvent):
    """One live channel in the answer to CoreShowChannels (resync after a reconnect)."""

    name: ClassVar[str] = "CoreShowChannel"
    duration: str | None = h("Duration")  # HH:MM:SS
    application: str | None = h("Application")
    bridge_id: str | None = h("BridgeId")

    @property
    def duration_seconds(self) -> int:
        try:
            hours, minutes, seconds = (int(x) for x in (self.duration or "0:0:0").split(":"))
        except ValueError:
            return 0
        return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True, slots=True)
class LocalBridge(AmiEvent):
    """The two halves of a Local channel (``;1`` and ``;2``): one leg of the call, two Uniqueids."""

    name: ClassVar[str] = "LocalBridge"
    one_channel: str = h("LocalOneChannel", "")
    one_uniqueid: str = h("LocalOneUniqueid", "")
    two_channel: str = h("LocalTwoChannel", "")
    two_uniqueid: str = h("LocalTwoUniqueid", "")


@dataclass(frozen=True, slots=True)
class DialBegin(DialEvent):
    name: ClassVar[str] = "DialBegin"
    dial_string: str | None = h("DialString")


@dataclass(frozen=True, slots=True)
class DialState(DialEvent):
    name: ClassVar[str] = "DialState"
    dial_status: str | None = h("DialStatus")


@dataclass(frozen=True, slots=True)
class DialEnd(DialEvent):
    name: ClassVar[str] = "DialEnd"
    dial_status: str | None = h("DialStatus")


@dataclass(frozen=True, slots=True)
class QueueCallerJoin(ChannelEvent):
    name: ClassVar[str] = "QueueCallerJoin"
    queue: str = h("Queue", "")
    position: int | None = h("Position")
    count: int | None = h("Count")


@dataclass(frozen=True, slots=True)
class QueueCallerLeave(ChannelEvent):
    name: ClassVar[str] = "QueueCallerLeave"
    queue: str = h("Queue", "")
    position: int | None = h("Position")
    count: int | None = h("Count")


@dataclass(frozen=True, slots=True)
class QueueCallerAbandon(ChannelEvent):
    name: ClassVar[str] = "QueueCallerAbandon"
    queue: str = h("Queue", "")
    position: int | None = h("Position")
    original_position: int | None = h("OriginalPosition")
    hold_time: int | None = h("HoldTime")


@dataclass(frozen=True, slots=True)
class AgentEvent(DialEvent):
    queue: str = h("Queue", "")
    member_name: str | None = h("MemberName")
    interface: str | None = h("Interface")


@dataclass(frozen=True, slots=True)
class AgentCalled(AgentEvent):
    name: ClassVar[str] = "AgentCalled"


@dataclass(frozen=True, slots=True)
class AgentConnect(AgentEvent):
    name: ClassVar[str] = "AgentConnect"
    hold_time: int | None = h("HoldTime")
    ring_time: int | None = h("RingTime")


@dataclass(frozen=True, slots=True)
class AgentComplete(AgentEvent):
    name: ClassVar[str] = "AgentComplete"
    hold_time: int | None = h("HoldTime")
    talk_time: int | None = h("TalkTime")
    reason: str | None = h("Reason")


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(AgentEvent):
    name: ClassVar[str] = "AgentRingNoAnswer"
    ring_time: int | None = h("RingTime")


@dataclass(frozen=True, slots=True)
class BridgeEvent(ChannelEvent):
    bridge_uniqueid: str = h("BridgeUniqueid", "")
    bridge_type: str | None = h("BridgeType")


@dataclass(frozen=True, slots=True)
class BridgeEnter(BridgeEvent):
    name: ClassVar[str] = "BridgeEnter"


@dataclass(frozen=True, slots=True)
class BridgeLeave(BridgeEvent):
    name: ClassVar[str] = "BridgeLeave"


@dataclass(frozen=True, slots=True)
class Hold(ChannelEvent):
    name: ClassVar[str] = "Hold"


@dataclass(frozen=True, slots=True)
class Unhold(ChannelEvent):
    name: ClassVar[str] = "Unhold"


@dataclass(frozen=True, slots=True)
class BlindTransfer(AmiEvent):
    name: ClassVar[str] = "BlindTransfer"
    result: str | None = h("Result")
    transferer_channel: str | None = h("TransfererChannel")
    transferer_uniqueid: str | None = h("TransfererUniqueid")
    transferer_linkedid: str | None = h("TransfererLinkedid")
    extension: str | None = h("Extension")
    context: str | None = h("Context")


@dataclass(frozen=True, slots=True)
class AttendedTransfer(AmiEvent):
    name: ClassVar[str] = "AttendedTransfer"
    result: str | None = h("Result")
    orig_transferer_channel: str | None = h("OrigTransfererChannel")
    orig_transferer_linkedid: str | None = h("OrigTransfererLinkedid")
    second_transferer_channel: str | None = h("SecondTransfererChannel")
    second_transferer_linkedid: str | None = h("SecondTransfererLinkedid")
    transfer_target_channel: str | None = h("TransferTargetChannel")


@dataclass(frozen=True, slots=True)
class OriginateResponse(AmiEvent):
    """Correlate by ActionID: on failure ``channel`` is the dial string and ``uniqueid`` is ``<unknown>``."""

    name: ClassVar[str] = "OriginateResponse"
    response: str = h("Response", "")
    channel: str = h("Channel", "")
    uniqueid: str = h("Uniqueid", "")
    reason: int | None = h("Reason")
    context: str | None = h("Context")
    exten: str | None = h("Exten")
    caller_num: str | None = h("CallerIDNum")


@dataclass(frozen=True, slots=True)
class MemberEvent(AmiEvent):
    queue: str = h("Queue", "")
    member_name: str | None = h("MemberName")
    interface: str = h("Interface", "")
    state_interface: str | None = h("StateInterface")
    membership: str | None = h("Membership")
    penalty: int | None = h("Penalty")
    calls_taken: int | None = h("CallsTaken")
    last_call: int | None = h("LastCall")
    in_call: bool = h("InCall", False)
    status: int | None = h("Status")
    paused: bool = h("Paused", False)
    paused_reason: str | None = h("PausedReason")


@dataclass(frozen=True, slots=True)
class QueueMemberStatus(MemberEvent):
    name: ClassVar[str] = "QueueMemberStatus"


@dataclass(frozen=True, slots=True)
class QueueMemberPause(MemberEvent):
    name: ClassVar[str] = "QueueMemberPause"


@dataclass(frozen=True, slots=True)
class QueueMemberAdded(MemberEvent):
    name: ClassVar[str] = "QueueMemberAdded"


@dataclass(frozen=True, slots=True)
class QueueMemberRemoved(MemberEvent):
    name: ClassVar[str] = "QueueMemberRemoved"


@dataclass(frozen=True, slots=True)
class QueueMember(AmiEvent):
    """One member in the answer to QueueStatus; it names its headers differently from the member events."""

    name: ClassVar[str] = "QueueMember"
    queue: str = h("Queue", "")
    member_name: str | None = h("Name")
    interface: str = h("Location", "")
    in_call: bool = h("InCall", False)
    status: int | None = h("Status")
    paused: bool = h("Paused", False)
    paused_reason: str | None = h("PausedReason")


@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    name: ClassVar[str] = "FullyBooted"
    uptime: int | None = h("Uptime")


@dataclass(frozen=True, slots=True)
class Shutdown(AmiEvent):
    name: ClassVar[str] = "Shutdown"
    shutdown: str | None = h("Shutdown")
    restart: bool = h("Restart", False)


def _converter(hint: Any) -> Any:
    if hint in (int, Optional[int]):  # noqa: UP045 - get_type_hints gives typing.Optional
        return _int
    if hint is bool:
        return _bool
    return None


def _plan(cls: type[AmiEvent]) -> tuple[tuple[str, str, Any, Any], ...]:
    """(attribute, header, converter, default) of each field, worked out once per class."""
    hints = get_type_hints(cls)
    return tuple((f.name, f.metadata["ami"], _converter(hints[f.name]), f.default)
                 for f in fields(cls) if "ami" in f.metadata)


TYPED: dict[str, type[AmiEvent]] = {
    cls.name: cls for cls in (
        Newchannel, NewCallerid, Newstate, Hangup, CoreShowChannel, VarSet, LocalBridge, DialBegin, DialState, DialEnd, QueueCallerJoin,
        QueueCallerLeave, QueueCallerAbandon, AgentCalled, AgentConnect, AgentComplete, AgentRingNoAnswer,
        BridgeEnter, BridgeLeave, Hold, Unhold, BlindTransfer, AttendedTransfer, OriginateResponse,
        QueueMemberStatus, QueueMemberPause, QueueMemberAdded, QueueMemberRemoved, QueueMember, FullyBooted,
        Shutdown,
    )
}
_PLANS = {name: _plan(cls) for name, cls in TYPED.items()}


def to_typed(message: AmiMessage) -> AmiEvent | None:
    """The typed form of an event the models use; None for any other message."""
    name = message.fields.get("Event")
    cls = TYPED.get(name) if name else None
    if cls is None:
        return None
    values = {}
    get = message.fields.get
    for attr, header, conv, default in _PLANS[name]:
        raw = get(header)
        if raw is None:
            values[attr] = default
        else:
            values[attr] = conv(raw) if conv is not None else raw
    return cls(**values)
