"""The IVR end to end on the PBX simulator: real FastAGI from the simulated Asterisk to ``ivr.service``,
real AMI from it to the CTI bridge, the stack's database and bus underneath.

A caller who complained a week ago calls again and presses 2: the IVR finds them as a repeat
complainant, they go ahead of a caller already waiting in the complaints queue, and the ring that pops
the agent's screen carries their IVR choices and customer id.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.calls.consumer import consume_once
from backend.calls.ivr_models import IvrSessionRecord
from backend.core.clock import SystemClock
from backend.core.events import IvrSessionEnded
from backend.directory.models import Customer
from backend.orgs.scope import Scope
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, QueueSpec, SimConfig
from ivr.service import Ivr
from tests.bus_follow import NodeEvents
from tests.conftest import NOW, Stack

pytestmark = pytest.mark.stack

AGENT = "PJSIP/1001"


async def _until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while not await predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def _a_customer(stack: Stack) -> Customer:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return (await s.scalars(select(Customer).where(Customer.mobile.is_not(None), Customer.level != "vip")
                                .order_by(Customer.id.desc()).limit(1))).one()


async def test_given_a_repeat_complainant_when_pressing_2_then_they_are_first_in_the_complaints_queue_and_the_ring_carries_it(  # noqa: E501
        stack: Stack, tmp_path: Path) -> None:
    node = f"pbx-{uuid.uuid4().hex[:8]}"
    customer = await _a_customer(stack)
    await stack.ctx.bus.publish(IvrSessionEnded(  # they complained through the IVR a week ago
        call_id=f"{node}.old", caller=customer.mobile, flow="default", outcome="queued", service="投诉",
        queue="complaints", customer_id=customer.id, started_at=NOW - timedelta(days=7),
        ended_at=NOW - timedelta(days=7)), node=node)
    await consume_once(stack.ctx)

    settings = stack.ctx.settings.model_copy(update={"node_id": node, "wrapup_seconds": 0})
    ctx = stack.ctx
    ivr = Ivr(ctx, port=0)
    agi_port = await ivr.start()
    sim = PbxSimulator(SimConfig(speed=20, agi=f"agi://127.0.0.1:{agi_port}/default", recordings=tmp_path,
                                 sounds=ivr.prompts.spoken_seconds(),
                                 agents=[AgentSpec(AGENT, "Agent 1001", 2.0, 30.0, queues=("complaints",))],
                                 # callers wait as long as the test needs, however slow the machine
                                 queues=[QueueSpec(q, "leastrecent", max_wait=3600) for q in
                                         ("complaints", "claims", "consultation", "vip", "general-service")]))
    sim.queues.pause(AGENT, True, "培训")  # nobody answers until both callers wait
    port = await sim.start()
    bridge = CtiBridge(settings, ctx.bus, SystemClock(), ami=AmiSettings("127.0.0.1", port, "cti", "cti-secret",
                                                                         backoff_initial=0.05, backoff_max=0.2))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))

    events = await NodeEvents(ctx.bus, "calls", node).start()

    async def queued(count: int) -> bool:
        return sum(e.type == "call.queued" for e in await events()) >= count

    try:
        await _until(lambda: _connected(bridge))
        # the key goes in while the main menu is read out (the welcome cannot be interrupted)
        first = await sim.inbound_call("13700000001", keys=("2",), gap=9.0, stay=120)
        await _until(lambda: queued(1))
        second = await sim.inbound_call(customer.mobile, keys=("2",), gap=9.0, stay=120)  # type: ignore[arg-type]
        await _until(lambda: queued(2))
        sim.queues.pause(AGENT, False)

        async def rung() -> bool:
            return any(e.type == "call.agent_ringing" for e in await events())
        await _until(rung)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await sim.stop()
        await ivr.stop()

    got = await events()
    queued_events = [e for e in got if e.type == "call.queued"]
    assert [(e.call_id, e.queue) for e in queued_events] == [  # type: ignore[attr-defined]
        (first.uniqueid, "complaints"), (second.uniqueid, "complaints")]
    assert queued_events[1].position == 1, "the repeat complainant did not go ahead"  # type: ignore[attr-defined]
    ring = next(e for e in got if e.type == "call.agent_ringing")
    assert ring.call_id == second.uniqueid and ring.agent_interface == AGENT  # type: ignore[attr-defined]
    ivr_vars = ring.ivr  # type: ignore[attr-defined]
    assert ivr_vars["IVR_CHOICE"] == "2" and ivr_vars["IVR_SERVICE"] == "投诉"
    assert ivr_vars["IVR_CUSTOMER_ID"] == str(customer.id) and ivr_vars["IVR_REPEAT"] == "1"
    assert ivr_vars["IVR_QUEUE"] == "complaints"

    # the IVR's own account of both calls is stored, path and all
    await consume_once(ctx)
    async with ctx.db.session(scope=Scope.everything()) as s:
        sessions = {r.call_id: r for r in await s.scalars(select(IvrSessionRecord).where(
            IvrSessionRecord.call_id.in_([first.uniqueid, second.uniqueid]),
            IvrSessionRecord.caller.in_(["13700000001", customer.mobile])))}
    repeat = sessions[second.uniqueid]
    assert (repeat.outcome, repeat.service, repeat.queue, repeat.customer_id) == ("queued", "投诉", "complaints",
                                                                                   customer.id)
    assert repeat.priority is not None and repeat.priority > (sessions[first.uniqueid].priority or 0)
    assert [step["node"] for step in repeat.path][:2] == ["welcome", "identify"]


async def _connected(bridge: CtiBridge) -> bool:
    return bridge.client.connected.is_set()
