"""The simulated PBX's core state: channels, bridges and variables, and the AMI events their changes emit.

Every change goes through a method here that both updates the model and emits the event Asterisk
would, with the header order of the recorded traces. Listeners (the AMI sessions) receive events
synchronously, in order; nothing here awaits, so no event can overtake another.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cti.simulator.clock import SimClock
from cti.simulator.wire import CAUSE_TEXT, Fields, block

Listener = Callable[[str, Fields], None]
UNKNOWN = "<unknown>"


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created: float
    state: int = 0
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    app: str = ""
    app_data: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    partner: Channel | None = None  # the other half of a Local pair
    dtmf: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    hup: asyncio.Event = field(default_factory=asyncio.Event)  # a hangup was requested (far end, AMI)
    hup_cause: int = 16
    reading_dtmf: bool = False  # digits sent while nothing reads them are lost, as on a real PBX
    next_priority: int = 1
    bridged_since: float | None = None
    bridged_before: float = 0.0  # seconds spent in earlier bridges
    held: bool = False  # its phone put the call on hold

    def bridged_seconds(self, now: float) -> float:
        """Time spent in bridges so far (what MixMonitor's ``b`` option records)."""
        return self.bridged_before + (now - self.bridged_since if self.bridged_since is not None else 0.0)

    @property
    def tech(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def device(self) -> str:
        """``Local/answered@caller-sim`` or ``PJSIP/1001``: the name without its sequence suffix."""
        return self.name.split(";", 1)[0].rsplit("-", 1)[0]

    @property
    def alive(self) -> bool:
        return not self.gone.is_set()


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    destroyed: bool = False

    def fields(self, prefix: str = "") -> Fields:
        return [(f"{prefix}{k}", v) for k, v in (
            ("BridgeUniqueid", self.uniqueid), ("BridgeType", "basic"), ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", UNKNOWN), ("BridgeName", UNKNOWN), ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"))]

    def peer(self, ch: Channel) -> Channel | None:
        return next((o for o in self.channels if o is not ch), None)


class Pbx:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.listeners: list[Listener] = []
        self.channels: dict[str, Channel] = {}  # by name
        self.globals: dict[str, str] = {}
        self.processed_calls = 0
        self._uid = itertools.count()
        self._seq: dict[str, itertools.count[int]] = {}
        # Called after a channel's Hangup event (recordings end there); kept across restarts, unlike listeners.
        self.hangup_hooks: list[Callable[[Channel], None]] = []
        self.sounds: dict[str, float] = {}  # sound files this PBX has beyond its own (the IVR's prompts), seconds

    def reset(self) -> None:
        """A restart: nothing survives, counters start again."""
        for ch in list(self.channels.values()):
            ch.gone.set()
        self.channels.clear()
        self.globals.clear()
        self.processed_calls = 0
        self._uid = itertools.count()
        self._seq.clear()

    # --- events

    def emit(self, name: str, privilege: str | None, fields: Fields) -> None:
        message: Fields = [("Event", name)]
        if privilege is not None:
            message.append(("Privilege", privilege))
        message.extend(fields)
        for listener in list(self.listeners):
            listener(name, message)

    def ch_event(self, name: str, ch: Channel, *extra: tuple[str, str], privilege: str = "call,all") -> None:
        self.emit(name, privilege, block(ch) + list(extra))

    def dest_event(self, name: str, ch: Channel | None, dest: Channel, *extra: tuple[str, str]) -> None:
        self.emit(name, "call,all", (block(ch) if ch else []) + block(dest, "Dest") + list(extra))

    # --- channels

    def _suffix(self, tech: str) -> str:
        return f"{next(self._seq.setdefault(tech, itertools.count())):08x}"

    def _uniqueid(self) -> str:
        return f"{int(self.clock.now())}.{next(self._uid)}"

    def _new(self, name: str, context: str, exten: str, linkedid: str | None, state: int,
             caller: tuple[str, str] | None = None) -> Channel:
        uid = self._uniqueid()
        ch = Channel(name, uid, linkedid or uid, context, exten, self.clock.now(), state=state)
        if caller is not None:
            ch.cid_num, ch.cid_name = caller
        self.channels[name] = ch
        if linkedid is None:
            self.processed_calls += 1
        self.ch_event("Newchannel", ch)
        return ch

    def new_channel(self, device: str, context: str, exten: str, *, linkedid: str | None = None,
                    state: int = 0, caller: tuple[str, str] | None = None) -> Channel:
        tech = device.split("/", 1)[0]
        return self._new(f"{device}-{self._suffix(tech)}", context, exten, linkedid, state, caller)

    def local_pair(self, exten: str, context: str, *, linkedid: str | None = None) -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{self._suffix('Local')}"
        one = self._new(base + ";1", context, exten, linkedid, 0)
        two = self._new(base + ";2", context, exten, linkedid or one.uniqueid, 4)
        one.partner, two.partner = two, one
        return one, two

    def local_bridge(self, one: Channel, two: Channel) -> None:
        self.emit("LocalBridge", "call,all", block(one, "LocalOne") + block(two, "LocalTwo") + [
            ("Context", two.context), ("Exten", two.exten), ("LocalOptimization", "Yes")])

    def newexten(self, ch: Channel, app: str, data: str = "", *, priority: int | None = None) -> None:
        ch.priority = priority if priority is not None else ch.next_priority
        ch.next_priority = ch.priority + 1
        ch.app, ch.app_data = app, data
        self.ch_event("Newexten", ch, ("Extension", ch.exten), ("Application", app), ("AppData", data),
                      privilege="dialplan,all")

    def goto(self, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        ch.context, ch.exten, ch.next_priority = context, exten, priority

    def set_state(self, ch: Channel, state: int) -> None:
        ch.state = state
        self.ch_event("Newstate", ch)

    def set_var(self, ch: Channel | None, name: str, value: str) -> None:
        if ch is None:
            self.globals[name] = value
            self.emit("VarSet", "dialplan,all", [("Channel", "none"), ("Uniqueid", "none"),
                                                 ("Variable", name), ("Value", value)])
            return
        ch.vars[name] = value
        self.ch_event("VarSet", ch, ("Variable", name), ("Value", value), privilege="dialplan,all")

    def get_var(self, ch: Channel | None, name: str) -> str:
        if name == "CALLERID(num)" and ch is not None:
            return ch.cid_num
        if name == "CALLERID(name)" and ch is not None:
            return ch.cid_name
        if ch is not None and name in ch.vars:
            return ch.vars[name]
        return self.globals.get(name, "")

    def set_callerid(self, ch: Channel, num: str, name: str | None = None) -> None:
        ch.cid_num = num
        if name is not None:
            ch.cid_name = name
        self.ch_event("NewCallerid", ch, ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))

    def set_connected(self, ch: Channel, num: str, name: str) -> None:
        ch.conn_num, ch.conn_name = num, name
        self.ch_event("NewConnectedLine", ch)

    def device_state(self, device: str, state: str) -> None:
        self.emit("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

    def dtmf(self, ch: Channel, digit: str, *, end: bool) -> None:
        if end and ch.reading_dtmf:
            ch.dtmf.put_nowait(digit)
        if end:
            self.ch_event("DTMFEnd", ch, ("Digit", digit), ("DurationMs", "100"), ("Direction", "Received"),
                          privilege="dtmf,all")
        else:
            self.ch_event("DTMFBegin", ch, ("Digit", digit), ("Direction", "Received"), privilege="dtmf,all")

    def soft_hangup_request(self, ch: Channel, cause: int = 16) -> None:
        self.ch_event("SoftHangupRequest", ch, ("Cause", str(cause)))

    def hangup_request(self, ch: Channel, cause: int) -> None:
        self.ch_event("HangupRequest", ch, ("Cause", str(cause)))
        self.request(ch, cause)

    def request(self, ch: Channel, cause: int) -> None:
        """Ask whoever runs the channel to hang it up (no event of its own)."""
        if not ch.hup.is_set():
            ch.hup_cause = cause
            ch.hup.set()

    def hangup(self, ch: Channel, cause: int) -> None:
        if not ch.alive:
            return
        if ch.bridge is not None:
            self.bridge_leave(ch)
        self.ch_event("Hangup", ch, ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")))
        self.channels.pop(ch.name, None)
        ch.gone.set()
        for hook in list(self.hangup_hooks):
            hook(ch)

    def find(self, name: str) -> Channel | None:
        return self.channels.get(name)

    # --- bridges

    def bridge(self, *members: Channel) -> Bridge:
        b = self.new_bridge()
        for ch in members:
            self.enter(b, ch)
        for ch in members:
            peer = b.peer(ch)
            if peer is not None:
                self.set_var(ch, "BRIDGEPEER", peer.name)
        return b

    def new_bridge(self) -> Bridge:
        b = Bridge(str(uuid.uuid4()))
        self.emit("BridgeCreate", "call,all", b.fields())
        return b

    def enter(self, b: Bridge, ch: Channel) -> None:
        b.channels.append(ch)
        ch.bridge = b
        ch.bridged_since = self.clock.now()
        self.emit("BridgeEnter", "call,all", b.fields() + block(ch))

    def bridge_leave(self, ch: Channel, *, destroy_empty: bool = True) -> None:
        b = ch.bridge
        if b is None:
            return
        b.channels.remove(ch)
        ch.bridge = None
        if ch.bridged_since is not None:
            ch.bridged_before += self.clock.now() - ch.bridged_since
            ch.bridged_since = None
        self.emit("BridgeLeave", "call,all", b.fields() + block(ch))
        if destroy_empty:
            self.destroy(b)

    def move(self, ch: Channel, to: Bridge) -> None:
        """A channel changes bridges (transfers); the bridge it leaves lives on even when empty."""
        self.bridge_leave(ch, destroy_empty=False)
        self.enter(to, ch)

    def destroy(self, b: Bridge) -> None:
        if not b.channels and not b.destroyed:
            b.destroyed = True
            self.emit("BridgeDestroy", "call,all", b.fields())
