"""The FastAGI server over a real TCP socket, with a simulated Asterisk replaying recorded traces."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ivr.agi.protocol import AgiReply, Quoted
from ivr.agi.server import AgiServer
from ivr.agi.session import AgiSession
from ivr.flows.channel import CallerGone, ChannelTimeout
from tests.agi_peer import AsteriskPeer, env_block, load_trace, replay

TRACE = load_trace("inbound_ivr_queue_answered")
SERVER_LOG = "ivr.agi.server"


class Calls:
    """What the handler saw, per call: the outcome ("ok" or the exception) and recorded values."""

    def __init__(self, flow: Callable[[AgiSession, dict[str, Any]], Awaitable[None]]) -> None:
        self.flow = flow
        self.outcomes: list[Any] = []
        self.values: list[dict[str, Any]] = []

    async def __call__(self, session: AgiSession) -> None:
        values: dict[str, Any] = {}
        self.values.append(values)
        try:
            await self.flow(session, values)
        except Exception as exc:
            self.outcomes.append(exc)
            raise
        self.outcomes.append("ok")


async def wait_idle(server: AgiServer, within: float = 1.0) -> float:
    """Seconds until the server has no connection left; fails the test after ``within``."""
    started = time.perf_counter()
    async with asyncio.timeout(within):
        while server.active:
            await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def short_flow(session: AgiSession, values: dict[str, Any]) -> None:
    await session.answer()
    values["digits"] = await session.get_data("beep", 3000, 4)
    await session.set_variable("IVR_CHOICE", values["digits"] or "")


async def good_call(port: int) -> list[str | None]:
    """A complete short call as Asterisk would run it; the commands the server sent."""
    peer = await AsteriskPeer.connect(port)
    await peer.send(TRACE.env)
    seen = [await peer.command()]
    await peer.reply("200 result=0")
    seen.append(await peer.command())
    await peer.reply("200 result=42")
    seen.append(await peer.command())
    await peer.reply("200 result=1")
    assert await peer.closed_by_server()
    await peer.close()
    return seen


GOOD_CALL = ["ANSWER", "GET DATA beep 3000 4", 'SET VARIABLE IVR_CHOICE "42"']


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[AgiServer]]]:
    servers: list[AgiServer] = []

    async def start(handler: Any, **options: Any) -> AgiServer:
        server = AgiServer(handler, "127.0.0.1", 0, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(grace=0.5)


async def trace_flow(s: AgiSession, v: dict[str, Any]) -> None:
    """Exactly the commands of the recorded FastAGI server, through the session's methods."""
    await s.answer()
    v["missing"] = await s.command("STREAM FILE", "custom/welcome-complaints", Quoted(""))
    v["beep"] = await s.stream_file("beep", "")
    choice = await s.get_data("beep", 5000, 1)
    policy = await s.get_data("beep", 8000, 20)
    v["digits"] = (choice, policy)
    await s.command("SET VARIABLE", "IVR_CHOICE", choice or "")  # the recording server left this one bare
    await s.set_variable("IVR_POLICY", policy or "")
    v["choice"] = await s.get_variable("IVR_CHOICE")
    v["caller"] = await s.get_full_variable("${CALLERID(num)}")
    v["unset"] = await s.get_variable("NO_SUCH_VARIABLE")
    await s.verbose(f"IVR choice {choice} policy {policy}", 1)
    v["unknown"] = await s.command("NO SUCH AGI COMMAND")
    v["env"] = (s.script, s.channel, s.uniqueid, s.callerid, s.dnid, s.extension)


@pytest.mark.parametrize("scenario, choice, caller", [("inbound_ivr_queue_answered", "1", "13912345678"),
                                                       ("inbound_queue_abandon", "2", "13987654321")])
async def test_given_a_recorded_call_when_replayed_then_same_commands_byte_for_byte_and_replies_parsed(
        serve: Any, scenario: str, choice: str, caller: str) -> None:
    calls = Calls(trace_flow)
    server = await serve(calls)
    trace = load_trace(scenario)
    peer = await AsteriskPeer.connect(server.port)
    written = await replay(peer, trace)  # the last answer is "510 …" then the closing "HANGUP"
    assert written == [command for command, _ in trace.exchanges]
    assert await peer.closed_by_server()
    await wait_idle(server)
    assert calls.outcomes == ["ok"]
    v = calls.values[0]
    assert v["missing"] == AgiReply(200, "-1", None, 0, "200 result=-1 endpos=0")
    assert v["beep"] is None
    assert v["digits"] == (choice, "8800123456")
    assert (v["choice"], v["caller"], v["unset"]) == (choice, caller, None)
    assert (v["unknown"].code, v["unknown"].data) == (510, "Invalid or unknown command")
    assert v["env"][0] == "ivr" and v["env"][3] == caller and v["env"][4] is None and v["env"][5] == "s"


async def keep_asking(s: AgiSession, v: dict[str, Any]) -> None:
    try:
        await s.answer()
        await s.get_data("beep", 5000, 1)
    finally:
        try:
            await s.verbose("after the caller left")
        except (CallerGone, ChannelTimeout) as exc:
            v["again"] = exc


@pytest.mark.parametrize("leave", ["HANGUP", "511", "EOF"])
async def test_given_a_command_waiting_when_the_caller_hangs_up_then_caller_gone_and_nothing_more_written(
        serve: Any, leave: str) -> None:
    calls = Calls(keep_asking)
    server = await serve(calls)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    assert await peer.command() == "ANSWER"
    await peer.reply("200 result=0")
    assert await peer.command() == "GET DATA beep 5000 1"
    if leave == "HANGUP":
        await peer.reply("HANGUP")
    elif leave == "511":
        await peer.reply("511 Command Not Permitted on a dead channel")
    else:
        peer.writer.write_eof()
    assert await peer.command() is None  # closed, and no VERBOSE was written after the hang-up
    assert await wait_idle(server) < 1.0
    assert isinstance(calls.outcomes[0], CallerGone)
    assert isinstance(calls.values[0]["again"], CallerGone)
    await peer.close()
    server.handler = Calls(short_flow)
    assert await good_call(server.port) == GOOD_CALL


async def test_given_eof_in_the_middle_of_the_env_when_served_then_closed_quickly_and_next_call_served(
        serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    calls = Calls(short_flow)
    server = await serve(calls)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env[:100])
    peer.writer.write_eof()
    cpu = time.process_time()
    assert await peer.closed_by_server()
    assert await wait_idle(server) < 1.0
    assert time.process_time() - cpu < 0.5  # no spinning on the dead socket
    assert calls.outcomes == []
    assert any("incomplete env" in r.getMessage() for r in caplog.records if r.name == SERVER_LOG)
    await peer.close()
    assert await good_call(server.port) == GOOD_CALL


@pytest.mark.parametrize("payload, problem", [
    (b"agi_network: yes\nfoo: bar\n\n", "env key is not agi_*: 'foo'"),
    (b"agi_network: yes\nagi_no_colon\n\n", "env line without a colon"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n", "env line without a colon"),  # a TLS hello
    (b"agi_x: " + b"a" * (1 << 20), "longer than the limit"),
    (b"agi_network: yes\n", "env not ended within 0.2 s"),
])
async def test_given_a_bad_env_when_served_then_one_warning_naming_peer_and_socket_closed(
        serve: Any, caplog: pytest.LogCaptureFixture, payload: bytes, problem: str) -> None:
    caplog.set_level(logging.INFO, SERVER_LOG)
    calls = Calls(short_flow)
    server = await serve(calls, env_timeout=0.2)
    peer = await AsteriskPeer.connect(server.port)
    peer.writer.write(payload)
    assert await peer.closed_by_server(timeout=2.0)
    await wait_idle(server)
    warnings = [r.getMessage() for r in caplog.records if r.name == SERVER_LOG and r.levelno == logging.WARNING]
    port = peer.writer.get_extra_info("sockname")[1]
    assert len(warnings) == 1 and problem in warnings[0] and f"127.0.0.1:{port}" in warnings[0], warnings
    assert calls.outcomes == []
    await peer.close()
    assert await good_call(server.port) == GOOD_CALL


async def test_given_no_reply_when_the_command_times_out_then_channel_timeout(serve: Any) -> None:
    calls = Calls(keep_asking)
    server = await serve(calls, command_timeout=0.2)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    assert await peer.command() == "ANSWER"
    assert await peer.command() is None  # the server gave up and closed; nothing else was written
    await wait_idle(server)
    assert isinstance(calls.outcomes[0], ChannelTimeout)
    assert isinstance(calls.values[0]["again"], ChannelTimeout)
    await peer.close()


async def inject(s: AgiSession, v: dict[str, Any]) -> None:
    try:
        await s.set_variable("IVR_NOTE", "x\nEXEC System rm")
    except ValueError as exc:
        v["refused"] = exc
    await s.verbose("still here")


async def test_given_a_value_with_a_newline_when_set_then_value_error_and_nothing_written(serve: Any) -> None:
    calls = Calls(inject)
    server = await serve(calls)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    assert await peer.command() == 'VERBOSE "still here" 1'
    await peer.reply("200 result=1")
    assert await peer.closed_by_server()
    await wait_idle(server)
    assert calls.outcomes == ["ok"] and isinstance(calls.values[0]["refused"], ValueError)
    await peer.close()


async def failing(s: AgiSession, v: dict[str, Any]) -> None:
    await s.answer()
    raise RuntimeError("flow bug")


async def test_given_a_handler_that_raises_when_served_then_traceback_logged_and_next_call_served(
        serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = await serve(Calls(failing))
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    assert await peer.command() == "ANSWER"
    await peer.reply("200 result=0")
    assert await peer.closed_by_server()
    await wait_idle(server)
    failed = [r for r in caplog.records if r.name == SERVER_LOG and r.levelno == logging.ERROR]
    assert len(failed) == 1 and failed[0].exc_info is not None and "flow bug" in str(failed[0].exc_info[1])
    await peer.close()
    server.handler = Calls(short_flow)
    assert await good_call(server.port) == GOOD_CALL


async def test_given_a_plain_function_handler_when_served_then_it_runs(serve: Any) -> None:
    seen: list[str] = []
    server = await serve(lambda session: seen.append(session.script))
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(env_block(TRACE, agi_network_script="complaints"))
    assert await peer.closed_by_server()
    assert seen == ["complaints"]
    await peer.close()


async def test_given_a_running_call_when_stopped_then_cancelled_after_the_grace(serve: Any) -> None:
    calls = Calls(keep_asking)
    server = await serve(calls)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    assert await peer.command() == "ANSWER"
    started = time.perf_counter()
    await server.stop(grace=0.2)
    assert 0.15 < time.perf_counter() - started < 1.0
    assert server.active == 0
    assert await peer.closed_by_server()
    await peer.close()
    with pytest.raises(OSError):
        await AsteriskPeer.connect(server.port)


async def test_given_a_reaction_observer_when_digits_arrive_then_one_reaction_per_digit_reply(serve: Any) -> None:
    reactions: list[float] = []

    async def flow(s: AgiSession, v: dict[str, Any]) -> None:
        await s.answer()
        await s.get_data("beep", 3000, 4)  # digits: the next command's write is a reaction
        await s.set_variable("A", "1")
        await s.get_data("beep", 3000, 4)  # nothing typed: no reaction
        await s.set_variable("B", "2")
        await s.stream_file("beep")  # interrupted by a key: a reaction
        await s.verbose("done")

    calls = Calls(flow)
    server = await serve(calls, on_reaction=reactions.append)
    peer = await AsteriskPeer.connect(server.port)
    await peer.send(TRACE.env)
    for reply in ("200 result=0", "200 result=42", "200 result=1", "200 result=", "200 result=1",
                  "200 result=50 endpos=1200", "200 result=1"):
        await peer.command()
        await asyncio.sleep(0.3 if reply == "200 result=42" else 0)  # the caller's digits arrive later
        await peer.reply(reply)
    assert await peer.closed_by_server()
    await peer.close()
    await wait_idle(server)
    assert calls.outcomes == ["ok"]
    assert len(reactions) == 2
    assert all(0 <= r < 0.2 for r in reactions)  # from the digits' arrival, not from the GET DATA (0.3 s)
