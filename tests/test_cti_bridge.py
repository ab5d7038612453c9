"""The CTI bridge end to end: recorded Asterisk traffic over TCP in, platform events on the bus out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.core.bus import FROM_START, create_bus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from cti.ami.client import AmiSettings
from cti.ami.events import CoreShowChannel, Newchannel
from cti.bridge import CtiBridge
from tests.ami_replay import TraceReplayServer
from tests.cti_replay import T0

GOLDEN = Path(__file__).parent / "data" / "golden"
STABLE = ("type", "call_id", "direction", "queue", "agent_interface", "agent_name", "ivr", "hangup_cause",
          "answered", "abandoned", "position")


def _ami(port: int) -> AmiSettings:
    return AmiSettings(host="127.0.0.1", port=port, username="cti", secret="cti-secret", backoff_initial=0.02,
                       backoff_max=0.1, connect_timeout=2)


def _stable(event: dict) -> dict:  # type: ignore[type-arg]
    """What must match the golden file whatever the timing (durations come from the wall clock here)."""
    return {k: v for k, v in event.items() if k in STABLE}


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


@pytest.mark.parametrize("scenario", ["inbound_ivr_queue_answered", "inbound_queue_abandon"])
async def test_given_recorded_inbound_call_when_bridged_then_the_bus_carries_the_golden_events(scenario: str) -> None:
    bus = create_bus("memory://")
    async with TraceReplayServer(scenario, passive=True) as server:
        bridge = CtiBridge(Settings(node_id="pbx-test"), bus, SystemClock(), ami=_ami(server.port))
        stop = asyncio.Event()
        runner = asyncio.create_task(bridge.run(stop))
        try:
            await _until(lambda: any(e.get("type") == "call.ended" for e in _published(bus)))
        finally:
            stop.set()
            await asyncio.wait_for(runner, 5)
    envelopes = await bus.read("calls", after=FROM_START)
    assert {e.node for e in envelopes} == {"pbx-test"}
    got = [_stable({"type": e.event.type, **e.event.model_dump(mode="json")}) for e in envelopes]
    expected = [_stable(e) for e in json.loads((GOLDEN / f"{scenario}.calls.json").read_text())]
    assert got == expected
    assert bridge.latencies and max(bridge.latencies) < 1.0
    agents = [(e.event.interface, e.event.state) for e in await bus.read("agents", after=FROM_START)]
    if scenario == "inbound_ivr_queue_answered":
        assert ("Local/agent1001@agents", "on_call") in agents and agents[-1][1] == "ready"
    else:
        assert ("Local/agent1001@agents", "not_ready") in agents  # paused by another tool before the call


def _published(bus) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    stream = bus._streams.get("calls")
    return [json.loads(raw) for raw in stream.raw] if stream else []


def test_given_calls_ended_during_an_outage_when_resyncing_then_closed_once_as_lost() -> None:
    from cti.calls.model import CallModel

    model = CallModel()
    model.handle(Newchannel(channel="PJSIP/trunk-00000001", uniqueid="7.1", linkedid="7.1", caller_num="13900000001"), T0)
    model.handle(Newchannel(channel="PJSIP/trunk-00000002", uniqueid="8.1", linkedid="8.1", caller_num="13900000002"), T0)
    live = [CoreShowChannel(channel="PJSIP/trunk-00000002", uniqueid="8.1", linkedid="8.1", duration="00:01:00"),
            CoreShowChannel(channel="PJSIP/1001-00000003", uniqueid="8.2", linkedid="8.1", duration="00:00:30"),
            CoreShowChannel(channel="PJSIP/trunk-00000009", uniqueid="9.1", linkedid="9.1", caller_num="13900000009",
                            duration="00:00:05")]
    events = model.resync(live, T0)
    assert [(e.type, e.call_id) for e in events] == [("call.ended", "7.1"), ("call.offered", "9.1")]
    assert events[0].lost_during_outage is True
    assert set(model.calls) == {"8.1", "9.1"} and model.calls["8.1"].channels == {"8.1", "8.2"}
    assert model.resync(live, T0) == []  # nothing is published twice


async def test_given_asterisk_restart_when_bridged_then_it_reconnects_and_resyncs_before_new_events() -> None:
    bus = create_bus("memory://")
    async with TraceReplayServer(["asterisk_restart", "asterisk_restart.reconnect"], passive=True,
                                 accept_and_drop_first=0) as server:
        bridge = CtiBridge(Settings(), bus, SystemClock(), ami=_ami(server.port))
        stop = asyncio.Event()
        runner = asyncio.create_task(bridge.run(stop))
        try:
            await _until(lambda: server.connections >= 2 and bridge.client.connected.is_set())
        finally:
            stop.set()
            await asyncio.wait_for(runner, 5)
    resyncs = [m for m in server.received if (m.get("Action") or "") == "CoreShowChannels"]
    assert len(resyncs) == 2  # once per login, before any event of that session is handled
