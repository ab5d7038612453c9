"""The default flow over a real TCP socket, Asterisk's side played line by line as Asterisk 22 speaks
it (the recorded env block; ``200 result=…`` replies; keys as GET DATA results; ``HANGUP`` when the
caller leaves). Each branch ends with the channel variables the dialplan and the CTI read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from backend.core.bus import FROM_START
from backend.core.context import AppContext
from backend.core.settings import Settings
from ivr.service import Ivr
from tests.agi_peer import AsteriskPeer, env_block, load_trace
from tests.test_ivr_flows_fakes import Clock, FakeServices, customer, policy

IN_HOURS = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 11:00 in Shanghai
NIGHT = IN_HOURS + timedelta(hours=13)  # Monday 00:00 → Tuesday 00:00 in Shanghai
CALLER = "13912345678"


@pytest.fixture
async def ivr(tmp_path) -> AsyncIterator[tuple[Ivr, FakeServices]]:  # type: ignore[no-untyped-def]
    ctx = AppContext.from_settings(Settings(data_dir=tmp_path, bus_url="memory://"))
    services = FakeServices(Clock(IN_HOURS))
    server = Ivr(ctx, services=services, port=0)
    await server.start()
    try:
        yield server, services
    finally:
        await server.stop(1)
        await ctx.close()


async def _call(ivr: Ivr, keys: list[str | None], *, hang_up_after: int | None = None) -> dict[str, str]:
    """Run one call; ``keys``: the result of each GET DATA in turn (None: the caller pressed nothing).
    Returns the variables set. ``hang_up_after``: the caller leaves after that many commands."""
    peer = await AsteriskPeer.connect(ivr.server.port)
    env = env_block(load_trace("inbound_ivr_queue_answered"), agi_network_script="default",
                    agi_callerid=CALLER, agi_request="agi://127.0.0.1/default")
    await peer.send(env)
    variables: dict[str, str] = {}
    pending = list(keys)
    commands = 0
    while (command := await peer.command(timeout=5)) is not None:
        commands += 1
        if hang_up_after is not None and commands > hang_up_after:
            await peer.send("HANGUP\n")
            await peer.reply("511 Command Not Permitted on a dead channel or intercepted by a built-in function")
            break
        verb = command.split(" ")
        if command.startswith("GET DATA"):
            key = pending.pop(0) if pending else None
            await peer.reply("200 result= (timeout)" if key is None else f"200 result={key}")
        elif command.startswith("STREAM FILE"):
            await peer.reply("200 result=0 endpos=16000")
        elif command.startswith("SET VARIABLE"):
            variables[verb[2]] = " ".join(verb[3:]).strip('"')
            await peer.reply("200 result=1")
        elif command.startswith("HANGUP"):
            await peer.reply("200 result=1")
        else:
            await peer.reply("200 result=0")
    await peer.close()
    return variables


async def _wait_published(ivr: Ivr, count: int) -> list:  # type: ignore[type-arg]
    for _ in range(200):
        got = await ivr.ctx.bus.read("ivr", after=FROM_START)
        if len(got) >= count:
            return [e.event for e in got]
        await asyncio.sleep(0.01)
    raise AssertionError("the IVR did not report the call")


async def test_given_a_caller_pressing_3_then_they_are_queued_for_consultation(ivr) -> None:  # type: ignore[no-untyped-def]
    server, _ = ivr
    variables = await _call(server, ["3"])
    assert variables["IVR_CHOICE"] == "3" and variables["IVR_QUEUE"] == "consultation"
    [session] = await _wait_published(server, 1)
    assert session.outcome == "queued" and session.caller == CALLER and session.queue == "consultation"
    nodes = [step["node"] for step in session.path]
    assert nodes[0] == "welcome" and "main_menu" in nodes


async def test_given_a_claim_with_a_known_policy_then_claims_queue_high_priority_with_the_policy(ivr) -> None:  # type: ignore[no-untyped-def]
    server, services = ivr
    services.policies["2026123456"] = policy("2026123456")
    variables = await _call(server, ["1", "2026123456"])
    assert variables["IVR_QUEUE"] == "claims" and variables["IVR_POLICY"] == "2026123456"
    assert int(variables["QUEUE_PRIO"]) > 5


async def test_given_a_repeat_complainant_then_complaints_first_and_marked(ivr) -> None:  # type: ignore[no-untyped-def]
    server, services = ivr
    services.customers[CALLER] = customer()
    services.repeat_phones.add(CALLER)
    variables = await _call(server, ["2"])
    assert (variables["IVR_QUEUE"], variables["IVR_REPEAT"], variables["IVR_CUSTOMER_ID"]) == ("complaints", "1", "7")
    assert int(variables["QUEUE_PRIO"]) == 9


async def test_given_a_policy_query_with_the_right_id_digits_then_it_is_self_service(ivr) -> None:  # type: ignore[no-untyped-def]
    server, services = ivr
    services.policies["2026123456"] = policy("2026123456", id_last4="123X")
    await _call(server, ["4", "2026123456", "123*", None, None, None])
    [session] = await _wait_published(server, 1)
    assert session.outcome in ("self_service", "hung_up") and session.service == "保单查询"
    assert "123*" not in str(session.path)  # ID digits never reach the record


async def test_given_invalid_keys_three_times_then_an_agent_takes_the_call(ivr) -> None:  # type: ignore[no-untyped-def]
    server, _ = ivr
    variables = await _call(server, ["7", "8", "9"])
    assert variables["IVR_QUEUE"] == "general-service"


async def test_given_silence_at_the_menu_then_after_the_retries_an_agent_takes_the_call(ivr) -> None:  # type: ignore[no-untyped-def]
    server, _ = ivr
    variables = await _call(server, [None, None, None])
    assert variables["IVR_QUEUE"] == "general-service"


async def test_given_the_caller_hangs_up_mid_flow_then_the_flow_stops_and_its_path_is_reported(ivr) -> None:  # type: ignore[no-untyped-def]
    server, _ = ivr
    variables = await _call(server, ["1"], hang_up_after=4)
    assert "IVR_QUEUE" not in variables
    [session] = await _wait_published(server, 1)
    assert session.outcome == "caller_hung_up" and session.path
    assert server.server.active == 0


async def test_given_a_call_out_of_hours_when_the_caller_asks_for_a_callback_then_it_is_recorded(ivr) -> None:  # type: ignore[no-untyped-def]
    server, services = ivr
    services.clock.current = NIGHT
    await _call(server, ["3", "1"])
    assert [(c.phone, c.service) for c in services.callbacks] == [(CALLER, "咨询")]
    [session] = await _wait_published(server, 1)
    assert session.outcome == "callback"


async def test_given_a_caller_pressing_0_then_any_agent(ivr) -> None:  # type: ignore[no-untyped-def]
    server, _ = ivr
    variables = await _call(server, ["0"])
    assert (variables["IVR_CHOICE"], variables["IVR_QUEUE"]) == ("0", "general-service")


async def test_given_a_vip_customer_asking_for_a_person_then_the_vip_queue_first(ivr) -> None:  # type: ignore[no-untyped-def]
    server, services = ivr
    services.customers[CALLER] = customer(level="vip")
    variables = await _call(server, ["3"])
    assert variables["IVR_QUEUE"] == "vip" and variables["IVR_VIP"] == "1" and int(variables["QUEUE_PRIO"]) == 10
