"""Contexts a caller's channel runs, and the two applications that ring agents: Queue() and Dial()."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.simulator.legs import AgentLeg, wait
from cti.simulator.pbx import Channel
from cti.simulator.queues import NOT_INUSE, Member, Queue

if TYPE_CHECKING:
    from cti.simulator.flows import Dialplan


async def run(dp: Dialplan, ch: Channel, after_first: object = None) -> None:
    pbx = dp.pbx
    first = after_first if callable(after_first) else None

    def step(app: str, data: str = "") -> None:
        nonlocal first
        pbx.newexten(ch, app, data)
        if first is not None:
            first()
            first = None

    try:
        while await _context(dp, ch, step) and ch.alive:
            ch.hup.clear()  # a Redirect: carry on in the new place
    finally:
        dp.end_call(ch, ch.hup_cause if ch.hup.is_set() else 16)


async def _context(dp: Dialplan, ch: Channel, step: Callable[..., None]) -> bool:
    """Run ``ch``'s current context; True when a Redirect moved it elsewhere."""
    pbx = dp.pbx
    if ch.context == "ivr-inbound":
        step("NoOp", "Inbound customer call")
        num = ch.vars.get("CUSTOMER_NUM") or "13912345678"
        step("Set", f"CALLERID(num)={num}")
        if ch.cid_num != num:
            pbx.set_callerid(ch, num)
        step("Set", "CALLERID(name)=Customer")
        step("Answer")
        step("AGI", dp.config.agi or "")
        await dp.agi(ch, dp.config.agi)
        step("NoOp", f"IVR done: choice={ch.vars.get('IVR_CHOICE', '')} policy={ch.vars.get('IVR_POLICY', '')}")
        queue = dp.queues.queues.get("complaints") or next(iter(dp.queues.queues.values()))
        step("Queue", f"{queue.name},,,,{queue.spec.max_wait:g}")
        await queue_app(dp, ch, queue)
    elif ch.context in ("from-trunk", "inbound"):
        if ch.context == "from-trunk":
            step("Set", f"__INBOUND_DID={ch.exten}")
            pbx.set_var(ch, "__INBOUND_DID", ch.exten)
            step("Goto", "inbound,1")
            pbx.goto(ch, "from-trunk", "inbound", 1)
        step("NoOp", f"Inbound call from {ch.cid_num} to {ch.exten}")
        step("Answer")
        if ch.state != 6:
            pbx.set_state(ch, 6)
        step("Set", "IVR_QUEUE=")
        pbx.set_var(ch, "IVR_QUEUE", "")
        step("AGI", dp.config.agi or "")
        await dp.agi(ch, dp.config.agi)
        name = ch.vars.get("IVR_QUEUE", "")
        step("GotoIf", f'$["{name}" = ""]?fallback')
        queue = dp.queues.queues.get(dp.pick_queue(name)) if name else None
        if queue is None:
            queue = dp.queues.queues[dp.config.fallback_queue]
        step("Queue", f"{queue.name},,,,{queue.spec.max_wait:g}")
        await queue_app(dp, ch, queue)
    elif ch.context == "outbound-agent":
        interface = (f"Local/agent{ch.exten}@agents" if dp.config.mode == "trace-local" else f"PJSIP/{ch.exten}")
        step("NoOp", f"Outbound: customer answered, connecting agent {ch.exten}")
        step("Dial", f"{interface},20")
        await dial_app(dp, ch, interface, 20.0)
    else:  # hold-line, redirect-target and anything else: answer and hold the line
        step("NoOp", f"Holding line in {ch.context}")
        step("Answer")
        step("Wait", "120")
        await wait(pbx.clock, 120.0, ch)
    redirected = dp.redirects.pop(ch.name, None)
    if redirected is not None:
        pbx.goto(ch, *redirected)
        return True
    if ch.alive and not ch.hup.is_set():
        step("Hangup")
    return False


async def queue_app(dp: Dialplan, ch: Channel, queue: Queue) -> None:
    """Queue(): join, ring members per strategy until one answers, the caller leaves, or max wait."""
    pbx, clock, queues = dp.pbx, dp.pbx.clock, dp.queues
    for var in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT", "QUEUEWAIT_MS"):
        pbx.set_var(ch, var, "")
    pbx.device_state(f"Queue:{queue.name}", "RINGING")
    queue.callers.append(ch)
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
    await wait(clock, None, leg.one, ch)
    talk = clock.now() - started
    by_agent = leg.one.hup.is_set()
    pbx.dest_event("AgentComplete", ch, leg.one, ("Queue", queue.name), ("Interface", member.interface),
                   ("MemberName", member.name), ("HoldTime", str(int(hold))), ("TalkTime", str(int(talk))),
                   ("Reason", "agent" if by_agent else "caller"))
    leg.finish()
    member.busy = False
    member.calls_taken += 1
    member.last_call = int(clock.now())
    queue.record(hold, talk)
    queues.set_status(member.interface, NOT_INUSE)
    pbx.set_var(ch, "ANSWEREDTIME", str(int(talk)))
    pbx.set_var(ch, "ANSWEREDTIME_MS", str(int(talk * 1000)))
    dialed = clock.now() - ch.created
    pbx.set_var(ch, "DIALEDTIME", str(int(dialed)))
    pbx.set_var(ch, "DIALEDTIME_MS", str(int(dialed * 1000)))


async def _first_answer(dp: Dialplan, ch: Channel, legs: list[tuple[AgentLeg, Member]],
                        timeout: float) -> tuple[AgentLeg, Member] | None:
    import asyncio
    waiters = {asyncio.ensure_future(leg.answered.wait()): (leg, m) for leg, m in legs}
    hup = asyncio.ensure_future(ch.hup.wait())
    try:
        done, _ = await asyncio.wait([*waiters, hup], timeout=dp.pbx.clock.real(timeout),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in (*waiters, hup):
            w.cancel()
    if ch.hup.is_set():
        return None
    for leg, m in legs:
        if leg.answered.is_set():
            pbx = dp.pbx
            pbx.dest_event("DialEnd", ch, leg.one, ("DialStatus", "ANSWER"))
            return leg, m
    return None


async def dial_app(dp: Dialplan, ch: Channel, interface: str, timeout: float) -> None:
    """Dial() of one agent phone from an answered channel (outbound campaign calls)."""
    import asyncio
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
    await wait(pbx.clock, None, agent, ch)
    leg.finish()
    dp.queues.set_status(interface, NOT_INUSE)

