"""End to end: the platform's CtiBridge against the simulator in production (PJSIP) mode."""

from __future__ import annotations

import asyncio

from backend.core.bus.memory import MemoryBus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, SimConfig

FROM_START = "0-0"


class QueueChoosingIvr:
    """The smallest FastAGI IVR: reads the environment, routes the caller to one queue, hangs up."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        writer.write(b"GET DATA beep 3000 1\n")
        await reader.readline()
        writer.write(f"SET VARIABLE IVR_QUEUE {self.queue}\n".encode())
        await reader.readline()
        writer.close()


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


async def test_given_pjsip_inbound_call_when_bridged_then_bus_gets_call_lifecycle_in_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ivr = QueueChoosingIvr("claims")
    await ivr.start()
    sim = PbxSimulator(SimConfig(speed=20, agi=f"agi://127.0.0.1:{ivr.port}/default", recordings=tmp_path,
                                 agents=[AgentSpec("PJSIP/1001", "Agent 1001", 2.0, 4.0)]))
    port = await sim.start()
    bus = MemoryBus()
    bridge = CtiBridge(Settings(), bus, SystemClock(),
                       ami=AmiSettings("127.0.0.1", port, "cti", "cti-secret", backoff_initial=0.02, backoff_max=0.1))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    published: list = []  # type: ignore[type-arg]

    async def collect() -> None:
        published[:] = await bus.read("calls", after=FROM_START)
    try:
        await _until(lambda: bridge.published >= 0 and sim.server.connections and
                     all(c.authed for c in sim.server.connections))
        await asyncio.sleep(0.1)
        await sim.run_scenario("inbound", caller="13912345678", keys=("1",), stay=30)

        async def ended() -> bool:
            await collect()
            return any(e.event.type == "call.ended" for e in published)
        for _ in range(200):
            if await ended():
                break
            await asyncio.sleep(0.02)
        types = [e.event.type for e in published]
        assert types == ["call.offered", "call.queued", "call.agent_ringing", "call.answered", "call.ended"]
        queued, answered, ended_event = published[1].event, published[3].event, published[4].event
        assert queued.queue == "claims" and queued.caller == "13912345678"
        assert answered.agent_interface == "PJSIP/1001"
        assert ended_event.answered and published[0].event.origin_channel.startswith("PJSIP/operator-")

        # the PBX restarts mid-call: the bridge reconnects, resyncs, and closes the lost call
        await sim.run_scenario("agent_pause", interface="PJSIP/1001", seconds=0.1)
        await sim.inbound_call("13987654321", keys=("1",), stay=60)
        await asyncio.sleep(0.3)
        await sim.restart()
        for _ in range(300):
            await collect()
            if sum(1 for e in published if e.event.type == "call.ended") >= 2:
                break
            await asyncio.sleep(0.02)
        lost = [e.event for e in published if e.event.type == "call.ended"][-1]
        assert lost.lost_during_outage and lost.caller == "13987654321"
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await sim.stop()
