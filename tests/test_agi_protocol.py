"""The FastAGI wire format: env block, replies as Asterisk 22 really sends them, argument quoting."""

from __future__ import annotations

import asyncio
import json

import pytest

from ivr.agi.protocol import (
    AgiProtocolError,
    AgiReply,
    EnvIncomplete,
    Quoted,
    format_command,
    parse_reply,
    quote,
    read_env,
)
from tests.agi_peer import TRACES_DIR, load_trace


def _reader(data: bytes, *, eof: bool = True, limit: int = 8192) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def test_given_the_recorded_env_when_read_then_all_agi_keys_with_values() -> None:
    trace = load_trace("inbound_ivr_queue_answered")
    chunks = [json.loads(line) for line in (TRACES_DIR / "inbound_ivr_queue_answered.agi.jsonl").open()]
    recorded = "".join(c["data"] for c in chunks[:2]).encode()
    assert trace.env == recorded
    env = await read_env(_reader(recorded + b"ANSWER-REPLY-NOT-READ\n"))
    assert len(env) == 22
    assert env["agi_network_script"] == "ivr"
    assert env["agi_channel"] == "Local/answered@caller-sim-00000000;1"
    assert env["agi_accountcode"] == ""  # "agi_accountcode: " keeps its trailing space on the wire
    assert env["agi_dnid"] == "unknown"


@pytest.mark.parametrize("block, problem", [
    (b"agi_network: yes\nfoo: bar\n\n", "not agi_"),
    (b"agi_network: yes\nagi_no_colon\n\n", "colon"),
    (b"\x00\xff\xfe garbage \x01\x02\n\n", "colon"),
    (b"\x00\xff: \xfe\n\n", "not agi_"),
    (b"agi_x: a\x00b\n\n", "control"),
    (b"\n", "empty env"),
    (b"agi_a: 1\n" * 201 + b"\n", "longer than 200"),
])
async def test_given_a_malformed_env_when_read_then_protocol_error_naming_the_problem(block: bytes,
                                                                                         problem: str) -> None:
    with pytest.raises(AgiProtocolError, match=problem):
        await read_env(_reader(block))


async def test_given_a_line_over_the_limit_when_read_then_protocol_error() -> None:
    with pytest.raises(AgiProtocolError, match="longer than the limit"):
        await read_env(_reader(b"agi_x: " + b"a" * 20000 + b"\n\n"))


async def test_given_eof_in_the_middle_of_the_env_when_read_then_incomplete() -> None:
    with pytest.raises(EnvIncomplete, match="after 1 env lines"):
        await read_env(_reader(b"agi_network: yes\nagi_network_scr"))


async def test_given_an_env_that_never_ends_when_read_then_incomplete_after_the_timeout() -> None:
    with pytest.raises(EnvIncomplete, match="not ended within"):
        await read_env(_reader(b"agi_network: yes\n", eof=False), timeout=0.05)


@pytest.mark.parametrize("line, expected", [
    ("200 result=0", (200, "0", None, None)),
    ("200 result=-1 endpos=0", (200, "-1", None, 0)),
    ("200 result=0 endpos=2000", (200, "0", None, 2000)),
    ("200 result=8800123456", (200, "8800123456", None, None)),
    ("200 result=1 (13912345678)", (200, "1", "13912345678", None)),
    ("200 result=1 (some value)", (200, "1", "some value", None)),
    ("200 result=1 ()", (200, "1", "", None)),
    ("200 result=1 (a (b) c)", (200, "1", "a (b) c", None)),
    ("200 result= (timeout)", (200, "", "timeout", None)),
    ("200 result=12 (timeout)", (200, "12", "timeout", None)),
    ("200 result=49 (dtmf) endpos=1234", (200, "49", "dtmf", 1234)),
    ("200 result=", (200, "", None, None)),
    ("510 Invalid or unknown command", (510, "", "Invalid or unknown command", None)),
    ("511 Command Not Permitted on a dead channel", (511, "", "Command Not Permitted on a dead channel", None)),
])
def test_given_a_reply_line_when_parsed_then_code_result_data_endpos(line: str, expected: tuple) -> None:
    reply = parse_reply([line])
    assert (reply.code, reply.result, reply.data, reply.endpos) == expected
    assert reply.raw == line


def test_given_a_520_usage_block_when_parsed_then_one_reply_with_the_usage() -> None:
    lines = ["520-Invalid command syntax.  Proper usage follows:",
             " Usage: GET DATA <file to be streamed> [timeout] [max digits]",
             "520 End of proper usage."]
    reply = parse_reply(lines)
    assert reply.code == 520 and not reply.ok
    assert "Usage: GET DATA" in (reply.data or "")
    assert reply.raw == "\n".join(lines)


@pytest.mark.parametrize("line", ["HELLO", "", "200", "200 foo=1", "2000 result=1"])
def test_given_a_line_that_is_no_reply_when_parsed_then_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply([line])


def test_given_the_trace_commands_when_formatted_then_same_bytes() -> None:
    assert format_command("STREAM FILE", "custom/welcome-complaints", Quoted("")) == \
        b'STREAM FILE custom/welcome-complaints ""\n'
    assert format_command("GET DATA", "beep", "5000", "1") == b"GET DATA beep 5000 1\n"
    assert format_command("SET VARIABLE", "IVR_POLICY", Quoted("8800123456")) == \
        b'SET VARIABLE IVR_POLICY "8800123456"\n'
    assert format_command("GET FULL VARIABLE", "${CALLERID(num)}") == b"GET FULL VARIABLE ${CALLERID(num)}\n"
    assert format_command("VERBOSE", Quoted("IVR choice 1"), "1") == b'VERBOSE "IVR choice 1" 1\n'


@pytest.mark.parametrize("arg, wire", [
    ("plain", "plain"),
    ("", '""'),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("tab\there", '"tab\there"'),
    ("中文", "中文"),
])
def test_given_an_argument_when_quoted_then_asterisk_reads_it_back(arg: str, wire: str) -> None:
    assert quote(arg) == wire


@pytest.mark.parametrize("arg", ["x\nHANGUP", "x\r\nEXEC System rm", "nul\x00"])
def test_given_an_argument_with_cr_lf_or_nul_when_quoted_then_value_error(arg: str) -> None:
    with pytest.raises(ValueError):
        quote(arg)
    with pytest.raises(ValueError):
        format_command("SET VARIABLE", "X", Quoted(arg))


@pytest.mark.parametrize("verb", ["", "ANSWER\nHANGUP", "GET  DATA", "1X"])
def test_given_a_bad_command_name_when_formatted_then_value_error(verb: str) -> None:
    with pytest.raises(ValueError):
        format_command(verb)


def test_given_a_reply_when_result_is_numeric_then_result_int() -> None:
    assert AgiReply(200, "-1", None, 0, "200 result=-1 endpos=0").result_int == -1
    assert AgiReply(200, "", "timeout", None, "200 result= (timeout)").result_int is None
