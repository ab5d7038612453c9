"""The FastAGI server under hostile and heavy input: fuzzed env blocks and replies, 300 concurrent calls."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.agi.server import AgiServer
from ivr.agi.session import AgiSession
from tests.agi_peer import AsteriskPeer
from tests.test_agi_server import GOOD_CALL, TRACE, good_call, short_flow, wait_idle

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REPLY_LINES = st.sampled_from([
    "200 result=0", "200 result=-1 endpos=0", "200 result=1 (x)", "200 result= (timeout)", "HANGUP",
    "510 Invalid or unknown command", "511 Command Not Permitted on a dead channel",
    "520-Invalid command syntax.  Proper usage follows:", "520 End of proper usage.", "", "200", "200 result=(",
])
ENV_LINES = st.sampled_from([line.decode() for line in TRACE.env.split(b"\n")[:-2]] + ["agi_x:", "agi_", ":", ""])


def text_block(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


async def busy_flow(s: AgiSession) -> None:
    await s.answer()
    await s.stream_file("welcome")
    await s.get_data("beep", 1000, 3)
    await s.get_variable("X")
    await s.get_full_variable("${CALLERID(num)}")
    await s.say_digits("123")
    await s.exec("Playback", "beep")
    await s.hangup()


async def survives(payload: bytes, *, as_replies: bool) -> None:
    """Send ``payload`` as the env (or, after a good env, as the replies), then EOF; the server must close
    the connection in bounded time and then serve a good call."""
    server = AgiServer(busy_flow if as_replies else _short, "127.0.0.1", 0, env_timeout=0.5, command_timeout=0.5)
    port = await server.start()
    try:
        peer = await AsteriskPeer.connect(port)
        peer.writer.write((TRACE.env if as_replies else b"") + payload)
        peer.writer.write_eof()
        assert await peer.closed_by_server(timeout=3.0)
        await wait_idle(server, within=2.0)
        await peer.close()
        server.handler = _short
        assert await good_call(port) == GOOD_CALL
    finally:
        await server.stop(0.5)


async def _short(session: AgiSession) -> None:
    await short_flow(session, {})


@pytest.fixture(autouse=True)
def quiet_server_logs() -> Any:
    # Fuzzing logs hundreds of expected warnings and tracebacks; they would only bury a real failure.
    logger = logging.getLogger("ivr.agi")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@FUZZ
@given(st.binary(max_size=400))
def test_given_random_bytes_as_the_env_when_served_then_closed_and_next_call_served(payload: bytes) -> None:
    asyncio.run(survives(payload, as_replies=False))


@FUZZ
@given(st.lists(st.one_of(ENV_LINES, st.text(max_size=30)), max_size=12))
def test_given_random_lines_as_the_env_when_served_then_closed_and_next_call_served(lines: list[str]) -> None:
    asyncio.run(survives(text_block(lines + [""]), as_replies=False))


@FUZZ
@given(st.binary(max_size=400))
def test_given_random_bytes_as_replies_when_served_then_closed_and_next_call_served(payload: bytes) -> None:
    asyncio.run(survives(payload, as_replies=True))


@FUZZ
@given(st.lists(st.one_of(REPLY_LINES, st.text(max_size=30)), max_size=12))
def test_given_random_lines_as_replies_when_served_then_closed_and_next_call_served(lines: list[str]) -> None:
    asyncio.run(survives(text_block(lines), as_replies=True))


async def test_given_300_concurrent_calls_when_served_then_all_complete_quickly() -> None:
    server = AgiServer(_short, "127.0.0.1", 0)
    port = await server.start()
    started = time.perf_counter()
    try:
        results = await asyncio.wait_for(asyncio.gather(*(good_call(port) for _ in range(300))), 10)
    finally:
        await server.stop(0.5)
    assert time.perf_counter() - started < 5.0
    assert results == [GOOD_CALL] * 300
    assert server.active == 0


async def test_given_a_tiny_scale_when_the_agi_bench_runs_then_rate_and_latency_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json

    from bench import ivr_agi

    await ivr_agi.main(argparse.Namespace(clients=5, calls_per_client=2, think_ms=1.0, handler="", in_process=False))
    paced, saturated = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert paced["bench"] == "ivr_agi" and paced["calls"] == 10 and paced["commands"] == 10 * 11
    assert paced["digit_to_next_command"]["n"] == 10 * 3 and saturated["think_ms"] == 0.0
