"""The acceptance scenario of the CTI: the AMI link dies mid-call (the connection drops, or Asterisk
restarts). The bridge reconnects and resyncs, and afterwards the call records are complete and single.

Everything is real but the PBX: the simulator over TCP, the bridge, the bus of the stack (in-process or
Redis Streams), the call-record consumer and reconciliation on SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.calls.consumer import consume_once
from backend.calls.models import CallRecord
from backend.calls.reconcile import reconcile_call_records
from backend.core.clock import SystemClock
from backend.orgs.scope import Scope
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, SimConfig
from tests.bus_follow import NodeEvents
from tests.conftest import Stack
from tests.test_simulator_bridge import QueueChoosingIvr

pytestmark = pytest.mark.stack


async def _until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while not await predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


class Node:
    """One simulated PBX node and the bridge that serves it, on the stack's bus."""

    def __init__(self, stack: Stack, sim: PbxSimulator, bridge: CtiBridge, node: str) -> None:
        self.stack, self.sim, self.bridge, self.node = stack, sim, bridge, node
        self.events = NodeEvents(stack.ctx.bus, "calls", node)

    async def ended(self, count: int) -> None:
        async def enough() -> bool:
            return sum(e.type == "call.ended" for e in await self.events()) >= count
        await _until(enough)

    async def answered(self, count: int) -> None:
        async def enough() -> bool:
            return sum(e.type == "call.answered" for e in await self.events()) >= count
        await _until(enough)

    async def linked(self, attempts: int) -> None:
        async def up() -> bool:
            return self.bridge.client.attempts >= attempts and self.bridge.client.connected.is_set()
        await _until(up)

    async def records(self) -> list[CallRecord]:
        async with self.stack.ctx.db.session(scope=Scope.everything()) as s:
            return list(await s.scalars(select(CallRecord).where(CallRecord.node == self.node)
                                        .order_by(CallRecord.started_at)))


@asynccontextmanager
async def pbx_node(stack: Stack, tmp_path: Path) -> AsyncIterator[Node]:
    ivr = QueueChoosingIvr("claims")
    await ivr.start()
    node = f"pbx-{uuid.uuid4().hex[:8]}"
    sim = PbxSimulator(SimConfig(speed=20, agi=f"agi://127.0.0.1:{ivr.port}/default", recordings=tmp_path,
                                 agents=[AgentSpec("PJSIP/1001", "Agent 1001", 2.0, 40.0)]))
    port = await sim.start()
    settings = stack.ctx.settings.model_copy(update={"node_id": node, "wrapup_seconds": 0})
    bridge = CtiBridge(settings, stack.ctx.bus, SystemClock(), ami=AmiSettings(
        "127.0.0.1", port, "cti", "cti-secret", backoff_initial=0.05, backoff_max=0.2))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    n = Node(stack, sim, bridge, node)
    await n.events.start()
    try:
        await n.linked(1)
        yield n
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await sim.stop()


async def _consume_everything(stack: Stack) -> None:
    """The real-time path twice (a replay must add nothing) and the periodic repair once."""
    await consume_once(stack.ctx)
    await consume_once(stack.ctx)
    await reconcile_call_records(stack.ctx)


async def test_given_the_ami_link_drops_mid_call_when_the_bridge_reconnects_then_the_record_is_complete_and_single(
        stack: Stack, tmp_path: Path) -> None:
    async with pbx_node(stack, tmp_path) as node:
        await node.sim.inbound_call("13912345678", keys=("1",), stay=60)
        await node.answered(1)
        await node.sim.server.close_all()  # the link dies; Asterisk and the call go on
        await node.linked(2)
        await node.ended(1)
        await node.sim.inbound_call("13987654321", keys=("1",), stay=60)  # life goes on after the outage
        await node.ended(2)

    events = await node.events()
    offered = [e.call_id for e in events if e.type == "call.offered"]  # type: ignore[attr-defined]
    assert len(offered) == len(set(offered)) == 2, "a call was offered twice after the resync"
    await _consume_everything(stack)
    first, second = await node.records()
    assert (first.caller, first.answered, first.lost_during_outage) == ("13912345678", True, False)
    assert first.agent_interface == "PJSIP/1001" and first.queue == "claims" and first.ivr == {"IVR_QUEUE": "claims"}
    assert first.talk_seconds and first.talk_seconds > 0 and first.hangup_cause == 16
    assert (second.caller, second.answered, second.lost_during_outage) == ("13987654321", True, False)


async def test_given_asterisk_restarts_mid_call_when_the_bridge_is_back_then_the_lost_call_is_closed_once(
        stack: Stack, tmp_path: Path) -> None:
    async with pbx_node(stack, tmp_path) as node:
        await node.sim.inbound_call("13912345678", keys=("1",), stay=60)
        await node.answered(1)
        await node.sim.restart()  # Shutdown, drop, refuse, back with no channels
        await node.ended(1)
        await node.linked(2)
        await node.sim.inbound_call("13987654321", keys=("1",), stay=60)
        await node.ended(2)

    ended = [e for e in await node.events() if e.type == "call.ended"]
    assert len({e.call_id for e in ended}) == len(ended) == 2  # type: ignore[attr-defined]
    await _consume_everything(stack)
    lost, after = await node.records()
    assert (lost.caller, lost.answered, lost.lost_during_outage) == ("13912345678", True, True)
    assert lost.agent_interface == "PJSIP/1001" and lost.queue == "claims"
    assert (after.caller, after.answered, after.lost_during_outage) == ("13987654321", True, False)
