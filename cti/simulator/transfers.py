"""Attended transfer (AMI Atxfer) the way Asterisk 22's bridge_basic.c runs it.

The transferer (the agent's channel) announces Hold and leaves the caller's bridge for a new one, the
caller hears hold music, and the target phone rings. Once it answers, transferer and target consult;
when the transferer hangs up the transfer completes: hold music stops, the target joins the caller's
bridge and ``AttendedTransfer`` (Result Success, DestType Bridge) names both bridges and all parties.
The transferer hanging up while the target still rings completes it too (a "blond" transfer). A target
that does not answer within ``ATXFER_NO_ANSWER`` or hangs up first sends the transferer back to the
caller (Unhold); the caller hanging up fails the transfer. During the consultation the transferer may key
``ATXFER_ABORT`` (the target is dropped, the transferer is back with the caller) or ``ATXFER_COMPLETE``
(as if it hung up). The target is a colleague's phone or, with the dial prefix, an outside number.

Asterisk dials the target through a Local channel that optimises itself away once answered; the
simulator shows the result directly, the target phone's own channel (``PJSIP/1002-…``), which is also
what ``TransferTargetChannel`` names after the optimisation. The simulated transferer consults for
``SimConfig.consult_time`` seconds and then hangs up; a Hangup of its channel over AMI completes it sooner.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator.legs import AgentLeg, wait
from cti.simulator.outbound import OutsideLeg, trunk_number
from cti.simulator.pbx import Bridge, Channel
from cti.simulator.queues import NOT_INUSE
from cti.simulator.wire import Fields, block

if TYPE_CHECKING:
    from cti.simulator.flows import Dialplan

FEATURE_CODE = "*2"  # features.conf [featuremap] atxfer; Asterisk queues it before the digits
ATXFER_NO_ANSWER = 15.0  # features.conf atxfernoanswertimeout default
DIGIT_TIMEOUT = 3.0  # features.conf transferdigittimeout default: how long a bad extension holds the caller
ATXFER_ABORT, ATXFER_COMPLETE = "*1", "*2"  # features.conf [general] atxferabort / atxfercomplete


def start_atxfer(dp: Dialplan, ch: Channel, context: str | None, exten: str) -> None:
    """What follows an accepted Atxfer action on ``ch`` (the transferer)."""
    pbx = dp.pbx
    if context:
        pbx.set_var(ch, "TRANSFER_CONTEXT", context)
    for digit in FEATURE_CODE + exten:
        pbx.dtmf(ch, digit, end=False)
        pbx.dtmf(ch, digit, end=True)
    peer = ch.bridge.peer(ch) if ch.bridge is not None else None
    running = dp.transfers.get(ch.name)
    if peer is None or (running is not None and not running.finished.is_set()):
        return  # not in a two-party bridge (or already transferring): the digits are just digits
    where = context or ch.vars.get("TRANSFER_CONTEXT") or ch.context
    interface = dp.phone_for(where, exten)
    number = trunk_number(where, exten) if dp.config.mode == "pjsip" else None
    if interface is None and number is None:  # DTMF dials only digits; only phones and the trunk are simulated
        dp.spawn(_bad_extension(dp, ch, peer), "atxfer")
        return
    leg = (AgentLeg(dp.pbx, dp.queues, ch, interface, app="AppDial2") if interface is not None
           else OutsideLeg(dp, ch, number or ""))
    xfer = AttendedTransfer(dp, ch, peer, leg)
    dp.transfers[ch.name] = xfer
    dp.spawn(xfer.run(), "atxfer")


async def _bad_extension(dp: Dialplan, transferer: Channel, transferee: Channel) -> None:
    dp.pbx.ch_event("Hold", transferer)
    dp.pbx.ch_event("MusicOnHoldStart", transferee, ("Class", "default"))
    await wait(dp.pbx.clock, DIGIT_TIMEOUT, transferer, transferee)
    dp.pbx.ch_event("Unhold", transferer)
    dp.pbx.ch_event("MusicOnHoldStop", transferee)


class AttendedTransfer:
    def __init__(self, dp: Dialplan, transferer: Channel, transferee: Channel, leg: AgentLeg) -> None:
        self.dp, self.pbx = dp, dp.pbx
        self.a, self.c = transferer, transferee
        assert transferer.bridge is not None
        self.orig: Bridge = transferer.bridge
        self.second: Bridge | None = None
        self.leg = leg
        self.finished = asyncio.Event()  # the transferer's part is over; ``completed``: the caller has the target
        self.completed = False

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if not self.completed:  # a completed one is collected by the talk it ended (apps.converse)
                self.dp.transfers.pop(self.a.name, None)
            self.finished.set()

    async def _run(self) -> None:
        pbx, a, c = self.pbx, self.a, self.c
        pbx.ch_event("Hold", a)  # ast_bridge_channel_write_hold: Hold names the transferer, MOH plays to the caller
        pbx.ch_event("MusicOnHoldStart", c, ("Class", "default"))
        self.second = pbx.new_bridge()
        pbx.move(a, self.second)
        t = self.leg.create()
        pbx.dest_event("DialBegin", a, t, ("DialString", self.leg.dial_string()))
        self.leg.start()
        busy = [self.leg.busy] if isinstance(self.leg, OutsideLeg) else []
        await self._first(ATXFER_NO_ANSWER, self.leg.answered, a.hup, c.hup, t.hup, *busy)
        if c.hup.is_set():
            return self._fail()
        if a.hup.is_set():
            return await self._blond()
        if not self.leg.answered.is_set():
            refused = any(e.is_set() for e in busy)
            pbx.dest_event("DialEnd", a, t, ("DialStatus", "BUSY" if refused else "NOANSWER"))
            self._end_target(17 if refused else 19)
            return self._rebridge()
        pbx.dest_event("DialEnd", a, t, ("DialStatus", "ANSWER"))
        pbx.enter(self.second, t)
        self.leg.connected.set()
        keyed = await self._consult()
        if keyed == ATXFER_ABORT and a.alive and not (c.hup.is_set() or t.hup.is_set()):
            self._end_target()
            return self._rebridge()
        if keyed == ATXFER_COMPLETE:
            pbx.hangup_request(a, 16)
        if c.hup.is_set():
            return self._fail()
        if a.hup.is_set():
            return self._complete()
        self._end_target()  # the target hung up on the transferer
        self._rebridge()

    async def _consult(self) -> str | None:
        """Transferer and target talk until someone hangs up or the transferer keys a feature code; the
        simulated transferer hangs up after ``consult_time`` (which completes the transfer)."""
        pbx, a = self.pbx, self.a
        while not a.dtmf.empty():
            a.dtmf.get_nowait()
        a.reading_dtmf = True
        keys = asyncio.ensure_future(self._keys())
        talk = asyncio.ensure_future(wait(pbx.clock, self.dp.config.consult_time, a, self.leg.one, self.c))
        try:
            await asyncio.wait([keys, talk], return_when=asyncio.FIRST_COMPLETED)
        finally:
            a.reading_dtmf = False
            keys.cancel()
            talk.cancel()
        if keys.done() and not keys.cancelled():
            return keys.result()
        if talk.done() and not talk.cancelled() and talk.result():
            pbx.hangup_request(a, 16)
        return None

    async def _keys(self) -> str:
        keyed = ""
        while keyed not in (ATXFER_ABORT, ATXFER_COMPLETE):
            keyed = (keyed + await self.a.dtmf.get())[-2:]
        return keyed

    async def _first(self, timeout: float, *events: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=self.pbx.clock.real(timeout), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def _complete(self) -> None:
        pbx, a, c, t = self.pbx, self.a, self.c, self.leg.one
        assert self.second is not None
        pbx.bridge_leave(a, destroy_empty=False)
        pbx.ch_event("MusicOnHoldStop", c)
        if t.bridge is self.second:
            pbx.move(t, self.orig)  # the bridges merge into the caller's
            pbx.set_var(c, "BRIDGEPEER", t.name)
            pbx.set_var(t, "BRIDGEPEER", c.name)
        self.completed = True
        self._publish("Success", t, [("DestType", "Bridge"), ("DestBridgeUniqueid", self.orig.uniqueid)])
        pbx.destroy(self.second)
        pbx.hangup(a, 16)

    async def _blond(self) -> None:
        """The transferer hung up while the target rang: the caller gets the target once it answers."""
        self._complete()
        self.finished.set()
        t = self.leg.one
        await self._first(ATXFER_NO_ANSWER, self.leg.answered, self.c.hup, t.hup)
        if self.leg.answered.is_set() and not self.c.hup.is_set():
            self.pbx.dest_event("DialEnd", self.a, t, ("DialStatus", "ANSWER"))
            self.pbx.enter(self.orig, t)
            self.leg.connected.set()
            return
        self._end_target(0 if self.c.hup.is_set() else 19)
        self.pbx.request(self.c, 16)  # nobody to take the caller (Asterisk would call the transferer back)

    def _rebridge(self) -> None:
        """The transfer did not happen: the transferer goes back to the caller."""
        pbx, a, c = self.pbx, self.a, self.c
        assert self.second is not None
        if a.alive:
            pbx.move(a, self.orig)
            pbx.destroy(self.second)
            pbx.ch_event("Unhold", a)
        pbx.ch_event("MusicOnHoldStop", c)

    def _fail(self) -> None:
        """The caller hung up during the transfer."""
        self._publish("Fail", None, [("DestType", "Fail")])
        self._end_target()

    def _end_target(self, cause: int = 0) -> None:
        if self.leg.answered.is_set():
            self.leg.finish()
        else:
            self.leg.drop(cause)
        self.dp.queues.set_status(self.leg.interface, NOT_INUSE)

    def _publish(self, result: str, target: Channel | None, dest: Fields) -> None:
        assert self.second is not None
        fields = ([("Result", result)] + block(self.a, "OrigTransferer") + self.orig.fields("Orig")
                  + block(self.a, "SecondTransferer") + self.second.fields("Second"))
        if result == "Success":
            fields += block(self.c, "Transferee") + (block(target, "TransferTarget") if target else [])
        self.pbx.emit("AttendedTransfer", "call,all", fields + [("IsExternal", "No"), *dest])
