"""The CTI bridge end to end: recorded Asterisk traffic over TCP in, platform events on the bus out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.core.bus import FROM_START, Bus, create_bus
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from cti.ami.client import AmiSettings
from cti.ami.events import CoreShowChannel, Newchannel
from cti.bridge import CtiBridge
from tests.ami_replay import TraceReplayServer, streaming_peer
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


async def _bridge_until_a_call_ends(port: int, bus: Bus, settings: Settings | None = None) -> CtiBridge:
    bridge = CtiBridge(settings or Settings(), bus, SystemClock(), ami=_ami(port), record_latency=True)
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    try:
        await _until(lambda: any(e.get("type") == "call.ended" for e in _published(bus)))
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
    return bridge


async def _assert_golden_calls(bus: Bus, scenario: str) -> None:
    got = [_stable({"type": e.event.type, **e.event.model_dump(mode="json")})
           for e in await bus.read("calls", after=FROM_START)]
    assert got == [_stable(e) for e in json.loads((GOLDEN / f"{scenario}.calls.json").read_text())]


@pytest.mark.parametrize("scenario", ["inbound_ivr_queue_answered", "inbound_queue_abandon"])
async def test_given_recorded_inbound_call_when_bridged_then_the_bus_carries_the_golden_events(scenario: str) -> None:
    bus = create_bus("memory://")
    async with TraceReplayServer(scenario, passive=True) as server:
        bridge = await _bridge_until_a_call_ends(server.port, bus, Settings(node_id="pbx-test"))
    assert {e.node for e in await bus.read("calls", after=FROM_START)} == {"pbx-test"}
    await _assert_golden_calls(bus, scenario)
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


async def test_given_garbage_then_a_real_call_when_bridged_then_bad_input_is_skipped_and_the_call_comes_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.WARNING)
    data = (Path(__file__).parent / "data" / "asterisk-traces" / "inbound_ivr_queue_answered.ami.txt").read_bytes()
    call = data[data.find(b"\r\n") + 2:]
    hostile = [
        b"\x00\xff\xfe garbage without structure \x80\x81\r\n\r\n",  # bytes that are not AMI at all
        b"Event: Newchannel\r\nChannel: PJSIP/x-1\r\nUniqueid: 99.1\r\nLinkedid: 99.0\r\n\r\n",  # joins no known call
        b"Event: FromTheFuture\r\nFoo: bar\r\n\r\n",  # an event type nobody models
        b"Event: Hangup\r\nUniqueid: never-seen\r\nCause: notanumber\r\n\r\n",  # a channel never seen
        b"Event: DialEnd\r\nData: " + b"x" * (1024 * 1024) + b"\r\n\r\n",  # a 1 MB header line
        b"Event: Newstate\r\nChannel: PJSIP/half-1\r\nUniq",  # truncated: completed by the next frame's bytes
        b"ueid: 98.1\r\n\r\n",
    ]

    server = await asyncio.start_server(streaming_peer([*hostile, call]), "127.0.0.1", 0)
    bus = create_bus("memory://")
    try:
        bridge = await _bridge_until_a_call_ends(server.sockets[0].getsockname()[1], bus)
    finally:
        server.close()
    await _assert_golden_calls(bus, "inbound_ivr_queue_answered")
    assert "over 262144 bytes" in caplog.text or "dropped" in caplog.text  # the 1 MB line was refused, and said so
    assert bridge.client.attempts == 1  # never disconnected
