"""Calls out of the simulated PBX: click-to-call (AMI Originate of an agent's phone into a dialplan context)
and Dial() of an outside number through the operator trunk, the way asterisk_conf/extensions.conf runs them.

Click-to-call: the phone's channel (``PJSIP/1001-…``) rings; when the agent picks up, OriginateResponse
Success, and the channel runs ``9<number>@from-internal`` → ``[outbound-trunk]`` → ``Dial(PJSIP/<number>@operator)``.
The outside party is one ``PJSIP/operator-…`` channel: it rings and answers after
``SimConfig.outside_answer_after``, is busy (``busy_numbers``) or never answers (``unanswered_numbers``),
and hangs up after ``outside_talk_time``; the agent's phone hangs up after its AgentSpec talk time. Event
order follows the recorded outbound traces (Newchannel, Newexten AppDial2, callerid, DialBegin with no
calling channel, Ringing, Up, OriginateResponse, DialEnd), with one channel per leg instead of a Local pair.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator.apps import converse, talk_on
from cti.simulator.legs import AgentLeg, talk_time, wait
from cti.simulator.pbx import Channel
from cti.simulator.queues import INUSE, NOT_INUSE, RINGING
from cti.simulator.wire import block

if TYPE_CHECKING:
    from cti.simulator.config import AgentSpec
    from cti.simulator.flows import Dialplan, Originate

FAILED, NO_ANSWER = 0, 3
PHONE_CONTEXT = "from-internal"  # pjsip.conf [agent-phone] context: what a phone's own channel starts in
DIAL_PREFIX = "9"  # extensions.conf: an outside number from a phone or a transfer
TRUNK_DIAL_TIMEOUT = 60.0  # extensions.conf [globals]
EMERGENCY = ("110", "119", "120", "122")  # [from-internal] dials these without the prefix
HANGUP_CAUSE = {"BUSY": 17, "NOANSWER": 19}


def trunk_number(context: str, exten: str) -> str | None:
    """The outside number ``exten@context`` dials through the trunk, if it dials one."""
    if context == "outbound-trunk" and exten.isdigit():
        return exten
    if context in ("from-internal", "transfer") and exten.startswith(DIAL_PREFIX) and exten[1:].isdigit() \
            and len(exten) > 2:
        return exten[1:]
    if context == "from-internal" and exten in EMERGENCY:
        return exten
    return None


async def originate_phone(dp: Dialplan, o: Originate) -> None:
    """Originate of ``PJSIP/<endpoint>`` into Context/Exten."""
    pbx, clock = dp.pbx, dp.pbx.clock
    spec = dp.queues.agent_spec(o.channel)
    if spec is None:  # no such endpoint: the channel cannot even be requested
        await dp._originate_failure(o, None, None, FAILED)
        return
    endpoint = o.channel.split("/", 1)[1]
    ch = pbx.new_channel(o.channel, PHONE_CONTEXT, "s")
    pbx.newexten(ch, "AppDial2", "(Outgoing Line)", priority=1)
    for name, value in reversed(o.variables):
        pbx.set_var(ch, name, value)
    num, name = o.caller_id
    if num != "<unknown>":  # what the phone's display shows, and the number the trunk presents
        pbx.set_callerid(ch, num, name)
        pbx.set_connected(ch, num, name)
    pbx.emit("DialBegin", "call,all", block(ch, "Dest") + [("DialString", endpoint)])
    pbx.set_state(ch, 5)
    pbx.device_state(o.channel, "RINGING")
    dp.queues.set_status(o.channel, RINGING)
    pbx.emit("DialState", "call,all", block(ch, "Dest") + [("DialStatus", "RINGING")])
    answer_after = spec.answer_after
    if answer_after is None or answer_after >= o.timeout:
        if await wait(clock, o.timeout, ch):
            pbx.hangup_request(ch, 19)
        await _unanswered(dp, o, ch)
        return
    if not await wait(clock, answer_after, ch):  # hung up over AMI while ringing
        await _unanswered(dp, o, ch)
        return
    pbx.set_state(ch, 6)
    pbx.device_state(o.channel, "INUSE")
    dp.queues.set_status(o.channel, INUSE)
    dp._originate_success(o, ch)
    pbx.emit("DialEnd", "call,all", block(ch, "Dest") + [("DialStatus", "ANSWER")])
    pbx.goto(ch, o.context, o.exten, o.priority)
    dp.spawn(_agent_talks(dp, ch, spec), "phone-talk")
    try:
        await dp.run_context(ch)
    finally:
        pbx.device_state(o.channel, "NOT_INUSE")
        dp.queues.set_status(o.channel, NOT_INUSE)


async def _unanswered(dp: Dialplan, o: Originate, ch: Channel) -> None:
    await dp._originate_failure(o, None, None, NO_ANSWER)
    dp.pbx.hangup(ch, ch.hup_cause)
    dp.pbx.device_state(o.channel, "NOT_INUSE")
    dp.queues.set_status(o.channel, NOT_INUSE)


async def _agent_talks(dp: Dialplan, ch: Channel, spec: AgentSpec) -> None:
    """The agent puts the phone down after their talk time, counted once the call is bridged."""
    clock = dp.pbx.clock
    while ch.bridge is None:
        if not await wait(clock, 0.2, ch):
            return
    if await wait(clock, talk_time(spec), ch):
        dp.pbx.hangup_request(ch, 16)


class OutsideLeg(AgentLeg):
    """The trunk dialling an outside number for ``caller``: one ``PJSIP/<trunk>-…`` channel."""

    def __init__(self, dp: Dialplan, caller: Channel, number: str) -> None:
        super().__init__(dp.pbx, dp.queues, caller, f"PJSIP/{dp.config.trunk}", app="AppDial2")
        self.dp, self.number = dp, number
        self.busy = asyncio.Event()

    def create(self) -> Channel:
        pbx, caller = self.pbx, self.caller
        self.one = pbx.new_channel(self.interface, "from-trunk", "s", linkedid=caller.linkedid)
        pbx.set_callerid(self.one, caller.cid_num, caller.cid_name)
        self.rung_at = pbx.clock.now()
        return self.one

    def dial_string(self) -> str:
        return f"{self.number}@{self.dp.config.trunk}"

    async def _phone(self) -> None:
        pbx, one, config = self.pbx, self.one, self.dp.config
        if self.number in config.busy_numbers:
            if await wait(pbx.clock, 0.5, one):  # the operator's "486 Busy Here"
                self.busy.set()
            return
        pbx.set_state(one, 5)
        pbx.dest_event("DialState", self.caller, one, ("DialStatus", "RINGING"))
        answer_after = None if self.number in config.unanswered_numbers else config.outside_answer_after
        if not await wait(pbx.clock, answer_after, one):
            return
        pbx.set_state(one, 6)
        self.answered.set()
        await self.connected.wait()
        if await wait(pbx.clock, config.outside_talk_time, one):
            pbx.hangup_request(one, 16)  # the customer hangs up

    def stays(self, seconds: float) -> None:
        """After a blind transfer, the customer goes on for the rest of their talk time in a new place."""
        async def later() -> None:
            if await wait(self.pbx.clock, seconds, self.one):
                self.pbx.hangup_request(self.one, 16)
        self.dp.spawn(later(), "outside-stays")


async def dial_outside(dp: Dialplan, ch: Channel, number: str, timeout: float) -> str:
    """``Dial(PJSIP/<number>@<trunk>,<timeout>)`` from ``ch``, and the talk that follows. Returns DIALSTATUS."""
    pbx = dp.pbx
    leg = OutsideLeg(dp, ch, number)
    out = leg.create()
    pbx.dest_event("DialBegin", ch, out, ("DialString", leg.dial_string()))
    leg.start()
    await _first(dp, timeout, ch.hup, leg.answered, leg.busy)
    if not leg.answered.is_set():
        status = "BUSY" if leg.busy.is_set() else "CANCEL" if ch.hup.is_set() else "NOANSWER"
        pbx.dest_event("DialEnd", ch, out, ("DialStatus", status))
        leg.drop({"BUSY": 17, "CANCEL": 0}.get(status, 19))
        return status
    pbx.dest_event("DialEnd", ch, out, ("DialStatus", "ANSWER"))
    pbx.bridge(out, ch)
    leg.connected.set()
    started = pbx.clock.now()
    _, target = await converse(dp, ch, leg)
    redirect = dp.redirects.pop(out.name, None)
    if redirect is not None and out.alive:  # a blind transfer took the customer elsewhere; the agent's side ends
        pbx.bridge_leave(out)
        out.hup.clear()
        pbx.goto(out, *redirect)
        dp.spawn(dp.run_context(out), "transferred")
        leg.stays(max(dp.config.outside_talk_time - (pbx.clock.now() - started), 1.0))
        return "ANSWER"
    xfer = dp.transfers.pop(ch.name, None)  # the agent (this side) consulted someone and hung up to complete
    if xfer is not None:
        await xfer.finished.wait()
        if xfer.completed and out.alive:
            dp.spawn(_talk_after_transfer(dp, leg, xfer.leg), "after-transfer")
            return "ANSWER"
    leg.finish()
    await talk_on(dp, ch, target)
    return "ANSWER"


async def _talk_after_transfer(dp: Dialplan, customer: AgentLeg, target: AgentLeg) -> None:
    """The customer and the consulted party talk until one of them hangs up; then both legs are gone."""
    await wait(dp.pbx.clock, None, customer.one, target.one)
    target.finish()
    dp.queues.set_status(target.interface, NOT_INUSE)
    customer.finish()


async def _first(dp: Dialplan, timeout: float, *events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=dp.pbx.clock.real(timeout), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
