"""The recorded-trace AMI server (tests/ami_replay.py) must replay Asterisk byte for byte.

These tests talk to it over a raw socket, the way the recording client did, so that a client test that
passes against the replay is known to have seen what a real Asterisk sends.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from cti.ami.frames import AmiMessage, FrameDecoder, encode_action, iter_messages
from tests.ami_replay import TRACES_DIR, TraceReplayServer, header, load_trace, rewrite_action_ids

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
TIMEOUT = 5.0


def recorded_rx(scenario: str) -> bytes:
    return (TRACES_DIR / f"{scenario}.ami.txt").read_bytes()


def login(action_id: str | None, secret: str = "cti-secret") -> bytes:
    return encode_action("Login", action_id, [("Username", "cti"), ("Secret", secret), ("Events", "on")])


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), TIMEOUT)


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), TIMEOUT)


def replayed_actions(scenario: str) -> list[tuple[bytes, dict[str, str | None]]]:
    """The scenario's recorded actions re-encoded with this client's own ids, plus the id mapping."""
    out: list[tuple[bytes, dict[str, str | None]]] = []
    for n, step in enumerate(load_trace(scenario).steps):
        recorded_id = header(step.action, "ActionID")
        mine = None if recorded_id is None else f"mine-{n}"
        rest = [(k, v) for k, v in step.action.fields.items() if k.lower() not in ("action", "actionid")]
        rest += [(k, v) for k, values in step.action.repeated.items() for v in values]
        name = header(step.action, "Action") or ""
        out.append((encode_action(name, mine, rest), {} if recorded_id is None else {recorded_id: mine}))
    return out


SCENARIOS = sorted(p.name.removesuffix(".ami.jsonl") for p in TRACES_DIR.glob("*.ami.jsonl"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_given_a_trace_when_loaded_then_no_rx_chunk_splits_an_action_id_line(scenario: str) -> None:
    # The id rewrite works chunk by chunk; it is exact only if no recorded chunk cuts an ActionID line.
    rows = [json.loads(line) for line in (TRACES_DIR / f"{scenario}.ami.jsonl").read_text().splitlines()]
    bounds: set[int] = set()
    stream = b""
    for row in rows:
        if row["dir"] == "rx":
            stream += row["data"].encode()
            bounds.add(len(stream))
    for match in re.finditer(rb"(?m)^ActionID: [^\r\n]*\r\n", stream):
        assert not any(match.start() < b < match.end() for b in bounds), match.group()


def test_given_ids_when_rewritten_then_one_pass_and_missing_client_id_drops_the_line() -> None:
    data = b"Response: Success\r\nActionID: a-1\r\n\r\nEvent: X\r\nActionID: a-10\r\nMessage: ActionID: a-1\r\n\r\n"
    ids: dict[str, str | None] = {"a-1": "a-10", "a-10": None}
    assert rewrite_action_ids(data, ids) == (
        b"Response: Success\r\nActionID: a-10\r\n\r\nEvent: X\r\nMessage: ActionID: a-1\r\n\r\n"
    )


async def test_given_inbound_scenario_when_client_logs_in_with_its_own_id_then_recorded_reply_has_that_id() -> None:
    async with TraceReplayServer("inbound_ivr_queue_answered") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await read_exactly(reader, len(BANNER)) == BANNER
        writer.write(login("client-7"))
        rows = [json.loads(line) for line in (TRACES_DIR / "inbound_ivr_queue_answered.ami.jsonl").open()]
        recorded_reply = rows[2]["data"].encode()  # the chunk after the Login tx: response + 2 events
        expected = recorded_reply.replace(b"ActionID: inb-ans-login\r\n", b"ActionID: client-7\r\n")
        reply = await read_exactly(reader, len(expected))
        writer.close()
    assert reply == expected
    messages = list(iter_messages(reply, expect_banner=False))
    assert [(m.response, m.event, m.action_id) for m in messages] == [
        ("Success", None, "client-7"),
        (None, "FullyBooted", None),
        (None, "SuccessfulAuth", None),
    ]
    assert [header(m, "Secret") for m in server.received] == ["cti-secret"]
    assert server.errors == []


async def test_given_a_whole_scenario_when_replayed_then_bytes_equal_the_recording_with_ids_rewritten() -> None:
    actions = replayed_actions("inbound_ivr_queue_answered")
    expected = recorded_rx("inbound_ivr_queue_answered")
    for _, ids in actions:
        expected = rewrite_action_ids(expected, ids)  # recorded ids are distinct from "mine-N"
    async with TraceReplayServer("inbound_ivr_queue_answered") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for data, _ in actions:
            writer.write(data)
        got = await read_exactly(reader, len(expected))
        writer.close()
    assert got == expected
    assert b"inb-ans" not in got and b"ActionID: mine-1\r\n" in got
    assert server.errors == []


async def test_given_ami_actions_when_all_actions_pipelined_then_every_reply_carries_the_clients_id() -> None:
    # Covers an action without ActionID, lowercase header names and the Logoff close.
    actions = replayed_actions("ami_actions")
    lowercase = [n for n, (data, _) in enumerate(actions) if b"Action: ping\r\n" in data]
    assert len(lowercase) == 1
    lower_ids = actions[lowercase[0]][1]
    actions[lowercase[0]] = (f"action: ping\r\nactionid: {lower_ids['lower-1']}\r\n\r\n".encode(), lower_ids)
    expected = recorded_rx("ami_actions")
    for _, ids in actions:
        expected = rewrite_action_ids(expected, ids)
    async with TraceReplayServer("ami_actions") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"".join(data for data, _ in actions))
        got = await read_to_eof(reader)  # Logoff: Goodbye, then Asterisk closed
        writer.close()
    assert got == expected
    assert server.errors == []
    assert len(server.received) == len(actions)
    responses = [m for m in iter_messages(got) if m.response is not None]
    assert all(m.action_id is None or m.action_id.startswith("mine-") for m in responses)
    assert responses[-1].response == "Goodbye"


async def test_given_wrong_secret_when_logging_in_then_authentication_failed_and_eof() -> None:
    async with TraceReplayServer("ami_bad_login") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await read_exactly(reader, len(BANNER)) == BANNER
        writer.write(encode_action("Ping", "p-1"))
        denied = b"Response: Error\r\nActionID: p-1\r\nMessage: Permission denied\r\n\r\n"
        assert await read_exactly(reader, len(denied)) == denied
        started = time.monotonic()
        writer.write(login("l-1", secret="wrong-secret"))
        rest = await read_to_eof(reader)
        elapsed = time.monotonic() - started
        writer.close()
    assert rest == b"Response: Error\r\nActionID: l-1\r\nMessage: Authentication failed\r\n\r\n"
    assert elapsed < 0.9  # the configurable delay, not the recorded 1 s
    assert server.errors == []


async def test_given_a_good_scenario_when_secret_is_wrong_then_login_is_refused_and_closed() -> None:
    async with TraceReplayServer("inbound_ivr_queue_answered", secret="other", login_fail_delay=0.0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await read_exactly(reader, len(BANNER))
        writer.write(login(None))
        rest = await read_to_eof(reader)
        writer.close()
    assert rest == b"Response: Error\r\nMessage: Authentication failed\r\n\r\n"


async def test_given_accept_and_drop_first_when_connecting_twice_then_first_gets_zero_bytes() -> None:
    async with TraceReplayServer("asterisk_restart.reconnect", accept_and_drop_first=1) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await read_to_eof(reader) == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await read_exactly(reader, len(BANNER)) == BANNER
        writer.close()
    assert server.connections == 2


async def test_given_restart_chain_when_pinging_then_shutdown_eof_and_reconnect_sees_uptime_zero() -> None:
    async with TraceReplayServer(["asterisk_restart", "asterisk_restart.reconnect"]) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(login("a-login") + encode_action("Ping", "a-ping"))
        first = list(iter_messages(await read_to_eof(reader)))
        writer.close()
        kinds = [m.response or m.event for m in first]
        assert kinds == ["Success", "FullyBooted", "SuccessfulAuth", "Success", "Shutdown"]
        shutdown = {"Event": "Shutdown", "Privilege": "system,all", "Shutdown": "Cleanly", "Restart": "True"}
        assert first[-1].fields == shutdown
        assert [m.action_id for m in first if m.response] == ["a-login", "a-ping"]

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(login("b-login"))
        decoder = FrameDecoder()
        messages: list[AmiMessage] = []
        while len(messages) < 3:
            messages += decoder.feed(await asyncio.wait_for(reader.read(4096), TIMEOUT))
        writer.close()
    assert decoder.banner == "Asterisk Call Manager/11.0.0"
    assert messages[0].action_id == "b-login"
    assert messages[1].event == "FullyBooted" and messages[1].get("Uptime") == "0"
    assert server.connections == 2 and server.errors == []


async def test_given_real_time_speed_when_replaying_restart_then_recorded_gaps_are_kept() -> None:
    # Ping reply at +0.4 ms, Shutdown at +8.9 ms, close at +26.4 ms after the recorded Ping.
    async with TraceReplayServer("asterisk_restart", speed=1.0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(login("x"))
        login_reply = sum(len(c.data or b"") for c in load_trace("asterisk_restart").steps[0].replies)
        await read_exactly(reader, len(BANNER) + login_reply - len(b"rst-login") + len(b"x"))
        started = time.monotonic()
        writer.write(encode_action("Ping", "y"))
        await read_to_eof(reader)
        writer.close()
    assert time.monotonic() - started >= 0.025


async def test_given_an_unexpected_action_when_replaying_then_error_recorded_and_connection_closed() -> None:
    async with TraceReplayServer("outbound_busy") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_action("CoreStatus", "c-1"))
        assert await read_to_eof(reader) == BANNER
        writer.close()
    assert len(server.errors) == 1 and "'CoreStatus'" in server.errors[0] and "'Login'" in server.errors[0]


async def test_given_script_finished_when_client_stays_then_connection_idles_until_closed() -> None:
    server = TraceReplayServer("outbound_busy")
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for data, _ in replayed_actions("outbound_busy"):
        writer.write(data)
    expected = recorded_rx("outbound_busy")
    for _, ids in replayed_actions("outbound_busy"):
        expected = rewrite_action_ids(expected, ids)
    assert await read_exactly(reader, len(expected)) == expected
    writer.write(encode_action("Ping", "late"))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(reader.read(1), 0.1)
    await server.close()
    assert await read_to_eof(reader) == b""
    writer.close()
    assert [m.action_id for m in server.received][-1] == "late"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_given_a_trace_when_loaded_then_chunks_are_the_recorded_ones_with_the_banner_first(scenario: str) -> None:
    rows = [json.loads(line) for line in (TRACES_DIR / f"{scenario}.ami.jsonl").read_text().splitlines()]
    trace = load_trace(scenario)
    chunks = trace.prelude + [c for step in trace.steps for c in step.replies]
    recorded = [r["data"].encode() if r["dir"] == "rx" else None for r in rows if r["dir"] != "tx"]
    if recorded and recorded[0] and recorded[0].startswith(BANNER) and recorded[0] != BANNER:
        # outbound_noanswer: Login went out before the banner was read, so banner and reply share a chunk.
        recorded[0:1] = [BANNER, recorded[0][len(BANNER):]]
    assert [c.data for c in chunks] == recorded
    assert len(trace.steps) == sum(r["dir"] == "tx" for r in rows)
    if scenario != "asterisk_restart.early_reconnect":
        assert trace.prelude == [chunks[0]] and chunks[0].data == BANNER
