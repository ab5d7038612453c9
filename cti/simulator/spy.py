"""AMI Originate into an application (``Application``/``Data`` instead of a context): the one the platform
sends is a supervisor's phone running ChanSpy on an agent's channel (listen in, or whisper with ``w``).

The phone rings and answers after its AgentSpec's delay, the OriginateResponse reports success, and
ChanSpy runs — ChanSpyStart/ChanSpyStop as Asterisk emits them — until the supervisor hangs up or, with
the ``E`` option, the agent's channel does. The simulator carries no audio, so listening is only events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator.legs import wait
from cti.simulator.pbx import Channel
from cti.simulator.wire import block

if TYPE_CHECKING:
    from cti.simulator.flows import Dialplan, Originate

FAILED, NO_ANSWER = 0, 3


async def originate_app(dp: Dialplan, o: Originate, app: str, data: str) -> None:
    pbx = dp.pbx
    spec = dp.queues.agent_spec(o.channel)
    if app != "ChanSpy" or spec is None:  # an unknown endpoint, or an application this PBX does not simulate
        await dp._originate_failure(o, None, None, FAILED)
        return
    ch = pbx.new_channel(o.channel, "default", "s")
    num, name = o.caller_id
    if num != "<unknown>":
        pbx.set_callerid(ch, num, name)
    pbx.set_state(ch, 5)
    pbx.device_state(o.channel, "RINGING")
    answer_after = spec.answer_after
    if answer_after is None or answer_after >= o.timeout:
        await wait(pbx.clock, o.timeout, ch)
        await dp._originate_failure(o, None, None, NO_ANSWER)
        pbx.hangup(ch, 19)
        pbx.device_state(o.channel, "NOT_INUSE")
        return
    if not await wait(pbx.clock, answer_after, ch):
        await dp._originate_failure(o, None, None, NO_ANSWER)
        pbx.hangup(ch, ch.hup_cause)
        pbx.device_state(o.channel, "NOT_INUSE")
        return
    pbx.set_state(ch, 6)
    pbx.device_state(o.channel, "INUSE")
    dp._originate_success(o, ch)
    pbx.newexten(ch, app, data, priority=1)
    spyee, _, options = data.partition(",")
    target = pbx.find(spyee)
    if target is not None and target.alive:
        await _spy(dp, ch, target, exit_with_spyee="E" in options)
    pbx.hangup(ch, ch.hup_cause if ch.hup.is_set() else 16)
    pbx.device_state(o.channel, "NOT_INUSE")


async def _spy(dp: Dialplan, spyer: Channel, spyee: Channel, *, exit_with_spyee: bool) -> None:
    pbx = dp.pbx
    pbx.emit("ChanSpyStart", "call,all", block(spyer, "Spyer") + block(spyee, "Spyee"))
    waiters = [asyncio.ensure_future(spyer.hup.wait())]
    if exit_with_spyee:
        waiters.append(asyncio.ensure_future(spyee.gone.wait()))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiters:
            task.cancel()
    pbx.emit("ChanSpyStop", "call,all", block(spyer, "Spyer") + (block(spyee, "Spyee") if spyee.alive else []))
