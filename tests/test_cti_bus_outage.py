"""The bus goes away while calls go on: the bridge holds the events it could not publish and, once the
bus is back, publishes every one of them in order — none lost, none twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.core.bus import FROM_START
from backend.core.bus.memory import MemoryBus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, SimConfig


class FlakyBus(MemoryBus):
    """A bus that is down for its first ``down_for`` publishes."""

    def __init__(self, down_for: int) -> None:
        super().__init__()
        self.down_for = down_for
        self.refused = 0

    async def publish(self, event, *, node=None, at=None):  # type: ignore[no-untyped-def,override]
        if self.refused < self.down_for:
            self.refused += 1
            raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")
        return await super().publish(event, node=node, at=at)


async def test_given_the_bus_down_during_a_call_when_it_returns_then_every_event_is_published_once_in_order(
        tmp_path: Path) -> None:
    sim = PbxSimulator(SimConfig(speed=20, agi=None, recordings=tmp_path,
                                 agents=[AgentSpec("PJSIP/1001", "Agent 1001", 2.0, 4.0)]))
    port = await sim.start()
    bus = FlakyBus(down_for=4)
    bridge = CtiBridge(Settings(wrapup_seconds=0), bus, SystemClock(),
                       ami=AmiSettings("127.0.0.1", port, "cti", "cti-secret", backoff_initial=0.02, backoff_max=0.1))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    try:
        for _ in range(200):
            if bridge.client.connected.is_set():
                break
            await asyncio.sleep(0.02)
        await sim.inbound_call("13912345678", keys=(), stay=30)
        for _ in range(500):
            calls = await bus.read("calls", after=FROM_START)
            if any(e.event.type == "call.ended" for e in calls):
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await sim.stop()
    assert bus.refused == 4
    assert [e.event.type for e in calls] == ["call.offered", "call.queued", "call.agent_ringing", "call.answered",
                                             "call.ended"]
    assert len({e.event.call_id for e in calls}) == 1  # type: ignore[attr-defined]
