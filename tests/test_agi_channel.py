"""The flows' CallChannel on FastAGI: which commands each call makes, and how replies become digits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ivr.agi.channel import AgiChannel
from ivr.agi.server import AgiServer
from ivr.agi.session import AgiSession
from ivr.flows.channel import CallerGone
from tests.agi_peer import AsteriskPeer, load_trace

TRACE = load_trace("inbound_ivr_queue_answered")
Action = Callable[[AgiChannel], Awaitable[Any]]


async def converse(action: Action, script: list[tuple[str, str]]) -> tuple[Any, list[str | None]]:
    """Run ``action`` on an AgiChannel of a real server while Asterisk answers ``script`` in order:
    (the command expected, the reply line). The action's result and the commands the server wrote."""
    results: list[Any] = []

    async def handler(session: AgiSession) -> None:
        results.append(await action(AgiChannel(session, lambda prompt: f"lianluo/zh/{prompt}")))

    server = AgiServer(handler, "127.0.0.1", 0)
    port = await server.start()
    peer = await AsteriskPeer.connect(port)
    await peer.send(TRACE.env)
    written = []
    for expected, reply in script:
        written.append(await peer.command())
        if written[-1] != expected:
            break
        await peer.reply(reply)
    assert await peer.closed_by_server()
    await peer.close()
    await server.stop(0.5)
    return (results[0] if results else None), written


def commands(script: list[tuple[str, str]]) -> list[str]:
    return [command for command, _ in script]


async def test_given_the_env_when_channel_built_then_call_id_caller_dialled() -> None:
    async def facts(ch: AgiChannel) -> tuple[str, str | None, str | None]:
        return ch.call_id, ch.caller, ch.dialled

    result, _ = await converse(facts, [])
    assert result == ("1795455247.0", "13912345678", "s")  # agi_dnid is "unknown": the extension then


async def test_given_prompts_when_played_uninterrupted_then_each_streamed_without_escape_digits() -> None:
    script = [('STREAM FILE lianluo/zh/welcome ""', "200 result=0 endpos=8000"),
              ('STREAM FILE lianluo/zh/menu ""', "200 result=0 endpos=16000")]

    async def play(ch: AgiChannel) -> str | None:
        return await ch.play(["welcome", "menu"], interruptible=False)

    assert await converse(play, script) == (None, commands(script))


async def test_given_a_digit_during_the_first_prompt_when_played_then_it_is_returned_and_the_rest_skipped() -> None:
    script = [('STREAM FILE lianluo/zh/welcome "0123456789*#"', "200 result=50 endpos=3000")]

    async def play(ch: AgiChannel) -> str | None:
        return await ch.play(["welcome", "menu"])

    assert await converse(play, script) == ("2", commands(script))


def read(prompts: list[str], max_digits: int, terminator: str = "#") -> Action:
    async def action(ch: AgiChannel) -> str | None:
        return await ch.read_digits(prompts, max_digits=max_digits, timeout_seconds=5, terminator=terminator)
    return action


@pytest.mark.parametrize("reply, digits", [("200 result=8800123456", "8800123456"),
                                           ("200 result= (timeout)", None),
                                           ("200 result=12 (timeout)", "12"),
                                           ("200 result=", None),  # "#" alone
                                           ("200 result=-1", None)])
async def test_given_no_digit_during_the_prompts_when_reading_then_get_data_with_the_last_prompt(
        reply: str, digits: str | None) -> None:
    script = [('STREAM FILE lianluo/zh/welcome "0123456789*#"', "200 result=0 endpos=8000"),
              ("GET DATA lianluo/zh/enter-policy 5000 20", reply)]
    assert await converse(read(["welcome", "enter-policy"], 20), script) == (digits, commands(script))


async def test_given_a_digit_during_a_prompt_when_reading_then_first_digit_and_get_data_without_prompt() -> None:
    script = [('STREAM FILE lianluo/zh/welcome "0123456789*#"', "200 result=56 endpos=1200"),
              ('GET DATA "" 5000 19', "200 result=800123456")]
    result = await converse(read(["welcome", "menu", "enter-policy"], 20), script)
    assert result == ("8800123456", commands(script))


async def test_given_one_digit_wanted_when_pressed_during_a_prompt_then_no_get_data() -> None:
    script = [('STREAM FILE lianluo/zh/welcome "0123456789*#"', "200 result=51 endpos=1200")]
    assert await converse(read(["welcome", "menu"], 1), script) == ("3", commands(script))


async def test_given_hash_during_a_prompt_when_reading_then_nothing_entered() -> None:
    script = [('STREAM FILE lianluo/zh/welcome "0123456789*#"', "200 result=35 endpos=1200")]
    assert await converse(read(["welcome", "menu"], 4), script) == (None, commands(script))


async def test_given_another_terminator_when_typed_then_input_cut_there() -> None:
    script = [("GET DATA lianluo/zh/enter-id 5000 6", "200 result=12*45")]
    assert await converse(read(["enter-id"], 6, terminator="*"), script) == ("12", commands(script))


async def test_given_no_prompts_when_reading_then_get_data_with_an_empty_file_name() -> None:
    script = [('GET DATA "" 5000 4', "200 result=1234")]
    assert await converse(read([], 4), script) == ("1234", commands(script))


async def test_given_variables_when_set_and_read_then_set_quoted_and_value_returned() -> None:
    script = [('SET VARIABLE IVR_CHOICE "1"', "200 result=1"),
              ("GET VARIABLE IVR_CHOICE", "200 result=1 (1)"),
              ("GET VARIABLE NO_SUCH_VARIABLE", "200 result=0"),
              ("ANSWER", "200 result=0"),
              ("HANGUP", "200 result=1")]

    async def variables(ch: AgiChannel) -> tuple[str | None, str | None]:
        await ch.set_variable("IVR_CHOICE", "1")
        values = await ch.get_variable("IVR_CHOICE"), await ch.get_variable("NO_SUCH_VARIABLE")
        await ch.answer()
        await ch.hangup()
        with pytest.raises(CallerGone):  # after our own HANGUP nothing more is written
            await ch.get_variable("IVR_CHOICE")
        return values

    assert await converse(variables, script) == (("1", None), commands(script))


async def test_given_max_digits_below_one_when_reading_then_value_error() -> None:
    async def bad(ch: AgiChannel) -> str:
        try:
            await ch.read_digits(["x"], max_digits=0, timeout_seconds=1)
        except ValueError:
            return "refused"
        return "accepted"

    assert await asyncio.wait_for(converse(bad, []), 2) == ("refused", [])
