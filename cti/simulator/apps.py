"""The two applications that connect a caller to an agent phone, Queue() and Dial(), and the talk that
follows: it lasts until one side hangs up, and an attended transfer by the agent hands the caller on to
the transfer target instead of ending it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator.legs import AgentLeg, wait
from cti.simulator.pbx import Channel
from cti.simulator.queues import NOT_INUSE, Member, Queue

if TYPE_CHECKING:
    from cti.simulator.flows import Dialplan


def _priority(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


async def queue_app(dp: Dialplan, ch: Channel, queue: Queue) -> None:
    """Queue(): join, ring members per strategy until one answers, the caller leaves, or max wait."""
    pbx, clock, queues = dp.pbx, dp.pbx.clock, dp.queues
    for var in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT", "QUEUEWAIT_MS"):
        pbx.set_var(ch, var, "")
    pbx.device_state(f"Queue:{queue.name}", "RINGING")
    # app_queue: a caller with a higher QUEUE_PRIO goes ahead of every caller with a lower one.
    priority = _priority(pbx.get_var(ch, "QUEUE_PRIO"))
    ahead = next((i for i, other in enumerate(queue.callers) if _priority(pbx.get_var(other, "QUEUE_PRIO")) < priority),
                 len(queue.callers))
    queue.callers.insert(ahead, ch)
    joined = clock.now()
    pbx.ch_event("QueueCallerJoin", ch, ("Queue", queue.name), ("Position", str(queue.callers.index(ch) + 1)),
                 ("Count", str(len(queue.callers))))
    pbx.ch_event("MusicOnHoldStart", ch, ("Class", "default"))
    answered: tuple[AgentLeg, Member] | None = None
    deadline = joined + queue.spec.max_wait
    while answered is None and not ch.hup.is_set() and clock.now() < deadline:
        if queue.callers[0] is not ch:
            await wait(clock, 0.5, ch)
            continue
        members = queue.pick()
        if not members:
            await wait(clock, 1.0, ch)
            continue
        legs: list[tuple[AgentLeg, Member]] = []
        for m in members:
            m.busy = True
            leg = AgentLeg(pbx, queues, ch, m.interface, app="AppQueue", member_name=m.name)
            agent = leg.create()
            pbx.dest_event("AgentCalled", ch, agent, ("Queue", queue.name), ("Interface", m.interface),
                           ("MemberName", m.name))
            pbx.dest_event("DialBegin", ch, agent, ("DialString", m.interface))
            legs.append((leg, m))
        for leg, _ in legs:
            leg.start()
        answered = await _first_answer(dp, ch, legs, queue.spec.timeout)
        for leg, m in legs:
            if answered is not None and leg is answered[0]:
                continue
            if answered is not None:  # Asterisk reports the cancelled ring twice (README quirk 7)
                pbx.dest_event("DialEnd", ch, leg.one, ("DialStatus", "CANCEL"))
                pbx.dest_event("DialEnd", ch, leg.one, ("DialStatus", "CANCEL"))
                leg.drop(26)
            else:
                if not ch.hup.is_set():
                    pbx.dest_event("AgentRingNoAnswer", ch, leg.one, ("Queue", queue.name),
                                   ("Interface", m.interface), ("MemberName", m.name),
                                   ("RingTime", str(int(queue.spec.timeout))))
                leg.drop(0 if ch.hup.is_set() else 19)
            m.busy = False
            queues.set_status(m.interface, NOT_INUSE)
        if answered is None and not ch.hup.is_set():
            await wait(clock, queue.spec.retry, ch)
    pbx.ch_event("MusicOnHoldStop", ch)
    hold = clock.now() - joined
    position = queue.callers.index(ch) + 1
    if answered is None:
        queue.callers.remove(ch)
        if ch.hup.is_set():
            queue.abandoned += 1
            pbx.ch_event("QueueCallerAbandon", ch, ("Queue", queue.name), ("Position", str(position)),
                         ("OriginalPosition", str(position)), ("HoldTime", str(int(hold))))
        pbx.ch_event("QueueCallerLeave", ch, ("Queue", queue.name), ("Position", str(position)),
                     ("Count", str(len(queue.callers))))
        pbx.device_state(f"Queue:{queue.name}", "NOT_INUSE")
        return
    leg, member = answered
    queue.callers.remove(ch)
    pbx.device_state(f"Queue:{queue.name}", "NOT_INUSE")
    pbx.ch_event("QueueCallerLeave", ch, ("Queue", queue.name), ("Position", str(position)),
                 ("Count", str(len(queue.callers))))
    pbx.set_var(ch, "QUEUEPOSITION", str(position))
    pbx.set_var(ch, "QUEUEWAIT", str(int(hold)))
    pbx.set_var(ch, "QUEUEWAIT_MS", str(int(hold * 1000)))
    ring = clock.now() - leg.rung_at
    pbx.dest_event("AgentConnect", ch, leg.one, ("Queue", queue.name), ("Interface", member.interface),
                   ("MemberName", member.name), ("HoldTime", str(int(hold))), ("RingTime", str(round(ring))))
    started = clock.now()
    pbx.bridge(leg.one, ch)
    leg.connected.set()
    reason, target = await converse(dp, ch, leg)
    talk = clock.now() - started
    pbx.dest_event("AgentComplete", ch, leg.one, ("Queue", queue.name), ("Interface", member.interface),
                   ("MemberName", member.name), ("HoldTime", str(int(hold))), ("TalkTime", str(int(talk))),
                   ("Reason", reason))
    leg.finish()
    member.busy = False
    member.calls_taken += 1
    member.last_call = int(clock.now())
    queue.record(hold, talk)
    queues.set_status(member.interface, NOT_INUSE)
    await talk_on(dp, ch, target)
    pbx.set_var(ch, "ANSWEREDTIME", str(int(talk)))
    pbx.set_var(ch, "ANSWEREDTIME_MS", str(int(talk * 1000)))
    dialed = clock.now() - ch.created
    pbx.set_var(ch, "DIALEDTIME", str(int(dialed)))
    pbx.set_var(ch, "DIALEDTIME_MS", str(int(dialed * 1000)))


async def _first_answer(dp: Dialplan, ch: Channel, legs: list[tuple[AgentLeg, Member]],
                        timeout: float) -> tuple[AgentLeg, Member] | None:
    waiters = {asyncio.ensure_future(leg.answered.wait()): (leg, m) for leg, m in legs}
    hup = asyncio.ensure_future(ch.hup.wait())
    try:
        await asyncio.wait([*waiters, hup], timeout=dp.pbx.clock.real(timeout), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in (*waiters, hup):
            w.cancel()
    if ch.hup.is_set():
        return None
    for leg, m in legs:
        if leg.answered.is_set():
            dp.pbx.dest_event("DialEnd", ch, leg.one, ("DialStatus", "ANSWER"))
            return leg, m
    return None


async def dial_app(dp: Dialplan, ch: Channel, interface: str, timeout: float) -> None:
    """Dial() of one agent phone from an answered channel (campaign calls, transfers to a colleague)."""
    pbx = dp.pbx
    leg = AgentLeg(pbx, dp.queues, ch, interface, app="AppDial2")
    agent = leg.create()
    pbx.dest_event("DialBegin", ch, agent, ("DialString", leg.dial_string()))
    leg.start()
    hup = asyncio.ensure_future(ch.hup.wait())
    answered = asyncio.ensure_future(leg.answered.wait())
    try:
        await asyncio.wait([hup, answered], timeout=pbx.clock.real(timeout), return_when=asyncio.FIRST_COMPLETED)
    finally:
        hup.cancel()
        answered.cancel()
    if not leg.answered.is_set():
        pbx.dest_event("DialEnd", ch, agent, ("DialStatus", "CANCEL" if ch.hup.is_set() else "NOANSWER"))
        leg.drop(0 if ch.hup.is_set() else 19)
        dp.queues.set_status(interface, NOT_INUSE)
        return
    pbx.dest_event("DialEnd", ch, agent, ("DialStatus", "ANSWER"))
    pbx.bridge(agent, ch)
    leg.connected.set()
    _, target = await converse(dp, ch, leg)
    leg.finish()
    dp.queues.set_status(interface, NOT_INUSE)
    await talk_on(dp, ch, target)


async def converse(dp: Dialplan, ch: Channel, leg: AgentLeg) -> tuple[str, AgentLeg | None]:
    """``ch`` talks with ``leg``'s phone until one side hangs up. Returns how that phone's part ended —
    ``agent``, ``caller`` or ``transfer`` — and, after an attended transfer, the leg ``ch`` now talks to."""
    await wait(dp.pbx.clock, None, leg.one, ch)
    xfer = dp.transfers.pop(leg.one.name, None)
    if xfer is not None:  # the agent hung up to complete its transfer, or the caller left during it
        await xfer.finished.wait()
        if xfer.completed and not ch.hup.is_set():
            return "transfer", xfer.leg
    if ch.hup.is_set() and ch.name in dp.redirects and ch.bridge is not None:
        dp.pbx.bridge_leave(ch)  # a Redirect pulls the caller out of the bridge; the agent's side dissolves
    return ("agent" if leg.one.hup.is_set() else "caller"), None


async def talk_on(dp: Dialplan, ch: Channel, target: AgentLeg | None) -> None:
    """After a transfer the caller talks on with the target (who may transfer it again)."""
    while target is not None:
        _, following = await converse(dp, ch, target)
        target.finish()
        dp.queues.set_status(target.interface, NOT_INUSE)
        target = following
