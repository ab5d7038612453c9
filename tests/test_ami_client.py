"""The AMI client against replayed real Asterisk traffic: login, ordering, list actions, reconnects."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from cti.ami.client import AmiClient, AmiSession, AmiSettings, LoginFailed, backoff_delays
from cti.ami.frames import AmiMessage, FrameDecoder, iter_messages
from tests.ami_replay import TraceReplayServer

TRACES = Path(__file__).parent / "data" / "asterisk-traces"


def _settings(port: int, **kw) -> AmiSettings:  # type: ignore[no-untyped-def]
    base = {"host": "127.0.0.1", "port": port, "username": "cti", "secret": "cti-secret", "connect_timeout": 2.0,
            "action_timeout": 3.0, "ping_interval": 30.0, "backoff_initial": 0.02, "backoff_max": 0.2}
    return AmiSettings(**{**base, **kw})


def _recorded_actions(scenario: str) -> list[AmiMessage]:
    return FrameDecoder(expect_banner=False).feed((TRACES / f"{scenario}.ami.sent.txt").read_bytes())


def _headers(action: AmiMessage) -> list[tuple[str, str]]:
    skip = {"action", "actionid"}
    pairs = [(k, v) for k, v in action.fields.items() if k.lower() not in skip]
    pairs += [(k, v) for k, vs in action.repeated.items() for v in vs]
    return pairs


def _recorded_events(scenario: str) -> list[str]:
    """Event names of a call trace in order (call traces hold no list actions, so every event is one)."""
    return [m.event for m in iter_messages((TRACES / f"{scenario}.ami.txt").read_bytes()) if m.event]


@pytest.mark.parametrize("scenario", ["inbound_ivr_queue_answered", "inbound_queue_abandon", "outbound_answered",
                                      "outbound_busy", "outbound_noanswer"])
async def test_given_recorded_call_when_replayed_then_events_arrive_complete_and_in_order(scenario: str) -> None:
    server = TraceReplayServer(scenario)
    port = await server.start()
    try:
        session = await AmiSession.open(_settings(port))
        seen: list[str] = []

        async def collect() -> None:
            async for event in session.events():
                seen.append(event.event or "")

        collector = asyncio.create_task(collect())
        for action in _recorded_actions(scenario)[1:]:  # Login was sent by open()
            await session.send(action.fields.get("Action") or action.fields.get("action", ""), _headers(action),
                               check=False)
        expected = _recorded_events(scenario)
        for _ in range(200):
            if len(seen) >= len(expected):
                break
            await asyncio.sleep(0.01)
        await session.close()
        await collector
        assert seen == expected
    finally:
        await server.close()


async def test_given_list_actions_when_sent_then_items_and_completion_come_back_as_one_result() -> None:
    server = TraceReplayServer("ami_actions")
    port = await server.start()
    try:
        session = await AmiSession.open(_settings(port))
        results = {}
        for action in _recorded_actions("ami_actions")[1:]:
            name = action.fields.get("Action") or action.fields.get("action", "")
            if name in ("QueueStatus", "QueueSummary", "Status", "CoreShowChannels"):
                results.setdefault(name, []).append(await session.send_list(name, _headers(action)))
            elif name == "Setvar":
                # From here the trace probes actions without ActionID and lowercase headers, whose replies a
                # replay cannot tie to the ids this client always sends; the list actions are all before it.
                break
            else:
                await session.send(name, _headers(action), check=False)
        queue_status = results["QueueStatus"][0]
        assert [i.event for i in queue_status.items][:1] == ["QueueParams"]
        assert queue_status.complete is not None
        assert int(queue_status.complete.fields["ListItems"]) == len(queue_status.items)
        status = results["Status"][0]
        assert status.complete is not None and status.complete.event == "StatusComplete"
        await session.close()
    finally:
        await server.close()


async def test_given_wrong_secret_when_client_runs_then_it_stops_with_login_failed_without_looping() -> None:
    server = TraceReplayServer("inbound_queue_abandon")  # answers a wrong secret as ami_bad_login shows
    port = await server.start()
    try:
        client = AmiClient(_settings(port, secret="wrong"), on_event=lambda e: asyncio.sleep(0))
        with pytest.raises(LoginFailed, match="refused"):
            await asyncio.wait_for(client.run(asyncio.Event()), 5)
        assert server.connections == 1
    finally:
        await server.close()


async def test_given_asterisk_restarts_when_connected_then_client_reconnects_and_resyncs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "lianluo.cti.ami")
    server = TraceReplayServer(["asterisk_restart", "asterisk_restart.reconnect"])
    port = await server.start()
    events: list[str] = []
    connects = 0

    async def on_event(event: AmiMessage) -> None:
        events.append(event.event or "")

    async def on_connect(session: AmiSession) -> None:
        nonlocal connects
        connects += 1
        if connects == 1:
            await session.send("Ping")
        else:  # the reconnect trace: the client rebuilds its view first
            await session.send("CoreStatus", check=False)
            await session.send("Ping")

    stop = asyncio.Event()
    client = AmiClient(_settings(port), on_event=on_event, on_connect=on_connect)
    runner = asyncio.create_task(client.run(stop))
    try:
        for _ in range(300):
            if connects >= 2 and "FullyBooted" in events[1:]:
                break
            await asyncio.sleep(0.01)
        assert connects == 2
        assert "Shutdown" in events
        assert events.index("Shutdown") < len(events) - 1  # the reconnected session's events follow
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await server.close()
    assert "lost; reconnecting" in caplog.text


async def test_given_peer_that_drops_before_banner_when_connecting_then_retried_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "lianluo.cti.ami")
    server = TraceReplayServer("inbound_queue_abandon", accept_and_drop_first=2)
    port = await server.start()
    stop = asyncio.Event()
    client = AmiClient(_settings(port), on_event=lambda e: asyncio.sleep(0))
    runner = asyncio.create_task(client.run(stop))
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        assert client.attempts == 3
        assert caplog.text.count("before its banner") == 2
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await server.close()


async def test_given_nothing_listening_when_connecting_then_attempts_are_logged_and_backoff_is_capped() -> None:
    delays = list(zip(range(12), backoff_delays(0.5, 30.0, random.Random(1)), strict=False))
    values = [d for _, d in delays]
    assert values[0] < 0.7 and max(values) <= 30.0 * 1.2
    assert all(b >= a * 0.6 for a, b in zip(values, values[1:], strict=False))  # grows until the cap
    assert values[-1] >= 30.0 * 0.8


async def _silent_after_login(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A peer that logs the client in and then never answers again (a hung Asterisk, a half-open link)."""
    writer.write(b"Asterisk Call Manager/11.0.0\r\n")
    decoder = FrameDecoder(expect_banner=False)
    while data := await reader.read(65536):
        for action in decoder.feed(data):
            if action.get("Action") == "Login":
                writer.write(b"Response: Success\r\nActionID: " + (action.get("ActionID") or "").encode()
                             + b"\r\nMessage: Authentication accepted\r\n\r\n")
    writer.close()


async def test_given_a_peer_that_stops_answering_when_pinging_then_timeout_is_named_and_link_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cti.ami.client import ActionTimeout

    caplog.set_level(logging.INFO, "lianluo.cti.ami")
    server = await asyncio.start_server(_silent_after_login, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        session = await AmiSession.open(_settings(port, action_timeout=0.2))
        with pytest.raises(ActionTimeout, match="Ping: no response within 0.2s"):
            await session.send("Ping")
        await session.close()
        stop = asyncio.Event()
        client = AmiClient(_settings(port, action_timeout=0.2, ping_interval=0.05), on_event=lambda e: asyncio.sleep(0))
        runner = asyncio.create_task(client.run(stop))
        for _ in range(200):
            if "lost; reconnecting" in caplog.text:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(runner, 5)
    finally:
        server.close()
    assert "AMI ping failed (Ping: no response within 0.2s); dropping the connection" in caplog.text
    assert "lost; reconnecting" in caplog.text


async def test_given_link_lost_during_resync_when_running_then_the_client_reconnects_instead_of_failing() -> None:
    server = TraceReplayServer(["asterisk_restart", "asterisk_restart.reconnect"])
    port = await server.start()
    calls = 0

    async def on_connect(session: AmiSession) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await session.send("Ping")
            await session.send("Ping")  # the recording closes after one: lost in the middle of the resync
        else:
            await session.send("CoreStatus", check=False)

    stop = asyncio.Event()
    client = AmiClient(_settings(port), on_event=lambda e: asyncio.sleep(0), on_connect=on_connect)
    runner = asyncio.create_task(client.run(stop))
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        assert calls == 2 and server.connections == 2
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await server.close()
