"""End to end: the platform's CtiBridge against the simulator in production (PJSIP) mode."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core import events as ev
from backend.core.bus.memory import MemoryBus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, SimConfig

FROM_START = "0-0"
SPEED = 25.0


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


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


@dataclass
class Stack:
    sim: PbxSimulator
    bridge: CtiBridge
    bus: MemoryBus
    ami: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # every event the PBX emitted

    async def events(self, stream: str = "calls") -> list[Any]:
        return [e.event for e in await self.bus.read(stream, after=FROM_START)]

    async def wait_for(self, predicate: Callable[[list[Any]], bool], stream: str = "calls",
                       timeout: float = 10.0) -> list[Any]:
        async def poll() -> list[Any]:
            while not predicate(events := await self.events(stream)):
                await asyncio.sleep(0.02)
            return events
        return await asyncio.wait_for(poll(), timeout)

    async def command(self, command: ev.CtiCommand) -> ev.CommandResult:
        await self.bus.publish(command, node=self.bridge.node)
        results = await self.wait_for(lambda es: any(getattr(e, "command_id", None) == command.command_id
                                                     and e.type == "command.result" for e in es), "commands")
        return next(e for e in results if e.type == "command.result" and e.command_id == command.command_id)


@contextlib.asynccontextmanager
async def running(tmp_path: Path, queue: str, agents: list[AgentSpec], **settings: Any) -> AsyncIterator[Stack]:
    ivr = QueueChoosingIvr(queue)
    await ivr.start()
    sim = PbxSimulator(SimConfig(speed=SPEED, agi=f"agi://127.0.0.1:{ivr.port}/default", recordings=tmp_path,
                                 agents=agents))
    port = await sim.start()
    bus = MemoryBus()
    bridge = CtiBridge(Settings(**settings), bus, SystemClock(),
                       ami=AmiSettings("127.0.0.1", port, "cti", "cti-secret", backoff_initial=0.02, backoff_max=0.1))
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    stack = Stack(sim, bridge, bus)
    sim.pbx.listeners.append(lambda name, fields: stack.ami.append((name, dict(fields))))
    try:
        await _until(lambda: bool(sim.server.connections) and all(c.authed for c in sim.server.connections))
        await asyncio.wait_for(bridge.accepting_commands.wait(), 5)
        await asyncio.sleep(0.1)  # the bridge's resync after login
        yield stack
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await sim.stop()


def _ended(events: list[Any]) -> bool:
    return any(e.type == "call.ended" for e in events)


async def test_given_pjsip_inbound_call_when_bridged_then_bus_gets_call_lifecycle_in_order(tmp_path: Path) -> None:
    async with running(tmp_path, "claims", [AgentSpec("PJSIP/1001", "Agent 1001", 2.0, 4.0)]) as stack:
        sim = stack.sim
        await sim.run_scenario("inbound", caller="13912345678", keys=("1",), stay=30)
        events = await stack.wait_for(_ended)
        assert [e.type for e in events] == ["call.offered", "call.queued", "call.agent_ringing", "call.answered",
                                            "call.ended"]
        queued, answered, ended = events[1], events[3], events[4]
        assert queued.queue == "claims" and queued.caller == "13912345678"
        assert answered.agent_interface == "PJSIP/1001"
        assert ended.answered and events[0].origin_channel.startswith("PJSIP/operator-")

        # the production dialplan records every call while bridged: the file is named by the call and
        # is written when the caller's channel hangs up, as long as the talk (4 simulated seconds)
        assert ended.recording_file == f"call-{ended.call_id}.wav"
        await sim.recorder.flush()
        with wave.open(str(tmp_path / ended.recording_file)) as wav:
            assert wav.getframerate() == 8000 and wav.getnchannels() == 1
            assert abs(wav.getnframes() / 8000 - 4.0) < 1.0
        caller = events[0].origin_channel
        assert [f["Channel"] for name, f in stack.ami if name == "MixMonitorStart"] == [caller]

        # the PBX restarts mid-call: the bridge reconnects, resyncs, and closes the lost call
        await sim.run_scenario("agent_pause", interface="PJSIP/1001", seconds=0.1)
        await sim.inbound_call("13987654321", keys=("1",), stay=60)
        await asyncio.sleep(0.3)
        await sim.restart()
        events = await stack.wait_for(lambda es: sum(e.type == "call.ended" for e in es) >= 2)
        lost = [e for e in events if e.type == "call.ended"][-1]
        assert lost.lost_during_outage and lost.caller == "13987654321"


PARTY = ["Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
         "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid"]
BRIDGE = ["BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName", "BridgeNumChannels",
          "BridgeVideoSourceMode"]
# stasis_bridges.c attended_transfer_to_ami: Result, both transferers with their bridges, transferee,
# target, IsExternal, then the destination.
ATTENDED_TRANSFER = (["Event", "Privilege", "Result"] + [f"OrigTransferer{k}" for k in PARTY]
                     + [f"Orig{k}" for k in BRIDGE] + [f"SecondTransferer{k}" for k in PARTY]
                     + [f"Second{k}" for k in BRIDGE] + [f"Transferee{k}" for k in PARTY]
                     + [f"TransferTarget{k}" for k in PARTY] + ["IsExternal", "DestType", "DestBridgeUniqueid"])


async def test_given_answered_call_when_agent_attended_transfers_then_call_transferred_to_colleague(
        tmp_path: Path) -> None:
    agents = [AgentSpec("PJSIP/1001", "Agent 1001", 1.0, 30.0),
              AgentSpec("PJSIP/1002", "Agent 1002", 1.0, 6.0, static=False)]  # a phone, in no queue
    async with running(tmp_path, "complaints", agents, wrapup_seconds=0) as stack:
        await stack.sim.inbound_call("13912345678", keys=("1",), gap=1.0, stay=120)
        events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
        call_id = next(e.call_id for e in events if e.type == "call.answered")
        result = await stack.command(ev.AttendedTransferCommand(
            command_id="x-1", node=stack.bridge.node, call_id=call_id, agent_interface="PJSIP/1001",
            context="transfer", exten="1002"))
        assert result.ok, result.error
        events = await stack.wait_for(_ended)

    transferred = [e for e in events if e.type == "call.transferred"]
    assert [(e.kind, e.target) for e in transferred] == [("attended", "PJSIP/1002")]
    ended = next(e for e in events if e.type == "call.ended")
    assert ended.answered and ended.agent_interface == "PJSIP/1001"
    assert [(t.kind, t.target) for t in ended.transfers] == [("attended", "PJSIP/1002")]

    names = [name for name, _ in stack.ami]
    xfer = next(f for name, f in stack.ami if name == "AttendedTransfer")
    assert list(xfer) == ATTENDED_TRANSFER
    assert xfer["Result"] == "Success" and xfer["DestType"] == "Bridge"
    assert xfer["DestBridgeUniqueid"] == xfer["OrigBridgeUniqueid"] and xfer["OrigBridgeNumChannels"] == "2"
    assert xfer["OrigTransfererChannel"].startswith("PJSIP/1001-")
    assert xfer["TransferTargetChannel"].startswith("PJSIP/1002-")
    assert xfer["TransfereeChannel"].startswith("PJSIP/operator-")
    # the caller held while the agent consulted, and the agent's part ended as a transfer
    hold = next(f for name, f in stack.ami if name == "Hold")
    assert hold["Channel"] == xfer["OrigTransfererChannel"]
    assert names.index("Hold") < names.index("AttendedTransfer")
    completes = [f for name, f in stack.ami if name == "AgentComplete"]
    assert [f["Reason"] for f in completes] == ["transfer"]


async def test_given_answered_call_when_redirected_to_transfer_queue_then_caller_queues_again(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec("PJSIP/1001", "Agent 1001", 1.0, 3.0)],
                       wrapup_seconds=0) as stack:
        await stack.sim.inbound_call("13912345678", keys=("1",), gap=1.0, stay=120)
        events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
        call_id = next(e.call_id for e in events if e.type == "call.answered")
        result = await stack.command(ev.BlindTransferCommand(
            command_id="b-1", node=stack.bridge.node, call_id=call_id, context="transfer", exten="claims"))
        assert result.ok, result.error
        events = await stack.wait_for(_ended)

    assert [e.queue for e in events if e.type == "call.queued"] == ["complaints", "claims"]
    ended = next(e for e in events if e.type == "call.ended")
    assert [(t.kind, t.target) for t in ended.transfers] == [("blind", "claims@transfer")]
    joins = [f for name, f in stack.ami if name == "QueueCallerJoin"]
    assert [f["Queue"] for f in joins] == ["complaints", "claims"]
    assert joins[0]["Channel"] == joins[1]["Channel"]  # the same caller channel, moved by the Redirect
