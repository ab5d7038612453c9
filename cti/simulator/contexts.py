"""Contexts a caller's channel runs: the trace setup's ``[ivr-inbound]``, the production dialplan's
``[from-trunk]``, ``[transfer]`` and ``[agents]``, ``[outbound-agent]``, ``[from-internal]`` and
``[outbound-trunk]`` (an agent's phone or a transferred caller dialling out), and a line-holding default."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.simulator.apps import dial_app, queue_app
from cti.simulator.features import AGENT_FEATURES
from cti.simulator.legs import wait
from cti.simulator.outbound import EMERGENCY, HANGUP_CAUSE, TRUNK_DIAL_TIMEOUT, dial_outside, trunk_number
from cti.simulator.pbx import Channel

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
        recording = f"call-{ch.uniqueid}.wav"
        step("MixMonitor", f"{recording},b")
        dp.recorder.mix_monitor(ch, recording, "b")
        step("Set", "IVR_QUEUE=")
        pbx.set_var(ch, "IVR_QUEUE", "")
        step("AGI", dp.config.agi or "")
        await dp.agi(ch, dp.config.agi)
        if ch.hup.is_set():  # the IVR ended the call itself (self-service done, callback booked)
            return False
        target = ch.vars.get("IVR_TRANSFER", "")
        step("GotoIf", f'$["{target}" != ""]?transfer,{target},1')
        if target:
            pbx.goto(ch, "transfer", target, 1)
            return True
        name = ch.vars.get("IVR_QUEUE", "")
        step("GotoIf", f'$["{name}" = ""]?fallback')
        queue = dp.queues.queues.get(dp.pick_queue(name)) if name else None
        if queue is None:
            queue = dp.queues.queues[dp.config.fallback_queue]
        step("Queue", f"{queue.name},,,,{queue.spec.max_wait:g}")
        await queue_app(dp, ch, queue)
    elif ch.context == "transfer" and dp.config.mode == "pjsip":
        queue = dp.queues.queues.get(ch.exten)
        if queue is not None:
            step("Queue", f"{queue.name},,,,{queue.spec.max_wait:g}")
            await queue_app(dp, ch, queue)
        elif dp.phone_for("transfer", ch.exten):
            step("Goto", f"agents,{ch.exten},1")
            pbx.goto(ch, "agents", ch.exten, 1)
            return True
        elif (number := trunk_number("transfer", ch.exten)) is not None:
            return _to_trunk(dp, ch, step, number)
    elif ch.context == "from-internal" and dp.config.mode == "pjsip":
        number = trunk_number("from-internal", ch.exten)
        if number not in EMERGENCY:  # the agent's own call: the console's hold/resume work on it too
            step("Set", f"DYNAMIC_FEATURES={AGENT_FEATURES}")
            pbx.set_var(ch, "DYNAMIC_FEATURES", AGENT_FEATURES)
        if dp.phone_for("from-internal", ch.exten):
            step("Goto", f"agents,{ch.exten},1")
            pbx.goto(ch, "agents", ch.exten, 1)
            return True
        if number is not None:
            return _to_trunk(dp, ch, step, number)
    elif ch.context == "outbound-trunk" and (number := trunk_number("outbound-trunk", ch.exten)) is not None:
        step("ExecIf", '$["" != ""]?Set(CALLERID(num)=)')  # OUTBOUND_CALLERID is empty in the shipped dialplan
        step("Dial", f"PJSIP/{number}@{dp.config.trunk},{TRUNK_DIAL_TIMEOUT:g}")
        status = await dial_outside(dp, ch, number, TRUNK_DIAL_TIMEOUT)
        if status in HANGUP_CAUSE and ch.alive and not ch.hup.is_set():
            step("Hangup")  # Dial left the far end's cause on the channel: the call ends "busy" or "no answer"
            pbx.request(ch, HANGUP_CAUSE[status])
    elif ch.context == "agents" and (interface := dp.phone_for("agents", ch.exten)):
        step("NoOp", f"Ring agent phone {ch.exten}")
        step("Dial", f"{interface},20")
        await dial_app(dp, ch, interface, 20.0)
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


def _to_trunk(dp: Dialplan, ch: Channel, step: Callable[..., None], number: str) -> bool:
    step("Goto", f"outbound-trunk,{number},1")
    dp.pbx.goto(ch, "outbound-trunk", number, 1)
    return True
