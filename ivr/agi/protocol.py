"""The FastAGI wire format: reading the ``agi_*`` env block, parsing replies, quoting command arguments.

Ground truth is the recorded exchanges in ``tests/data/asterisk-traces/*.agi.txt`` (Asterisk 22) and
Asterisk's ``res_agi.c``: lines end in ``\\n``; the env is ``agi_key: value`` lines ended by an empty line;
replies are ``200 result=<r> [(data)] [endpos=<n>]``, ``510 …``, ``511 …`` or a multi-line ``520-…`` usage
ended by ``520 End of proper usage.``; a bare ``HANGUP`` line may arrive at any time.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

MAX_LINE = 8 * 1024  # also the StreamReader limit, so a line without newline cannot grow the buffer further
MAX_ENV_LINES = 200
ENV_TIMEOUT = 5.0
MAX_USAGE_LINES = 200  # a 520 usage text is a few lines; bound it so a broken peer cannot stream forever

HANGUP_LINE = "HANGUP"

_ENV_KEY = re.compile(r"agi_[A-Za-z0-9_]+\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VERB = re.compile(r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z0-9]+)*\Z")
_STATUS = re.compile(r"(\d{3})([ -])(.*)\Z", re.DOTALL)
_RESULT = re.compile(r"result=(\S*)(.*)\Z", re.DOTALL)
# Greedy data, so a variable value containing ")" stays whole; only key=value pairs may follow it.
_DATA = re.compile(r" \((.*)\)((?: [A-Za-z_]+=\S*)*)\Z", re.DOTALL)
_ENDPOS = re.compile(r"(?:^| )endpos=(-?\d+)")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')


class AgiProtocolError(Exception):
    """The peer broke the FastAGI protocol (bad env line, oversized line, unparseable reply)."""


class EnvIncomplete(AgiProtocolError):
    """The connection closed or the deadline passed before the env block ended."""


@dataclass(frozen=True)
class AgiReply:
    code: int  # 200 ok, 510 unknown command, 511 dead channel, 520 bad syntax
    result: str  # the ``result=`` token, "" when absent (non-200 replies, or GET DATA with nothing typed)
    data: str | None  # the parenthesised part, e.g. a variable's value or "timeout"; the message for 5xx
    endpos: int | None
    raw: str  # the reply line(s) as received, without the final newline

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None


def decode_line(raw: bytes) -> str:
    """One received line without its ``\\n`` (and a stray ``\\r``). Undecodable bytes are replaced rather
    than refused: caller names from some trunks arrive in GBK, and that must not cost the call."""
    return raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")


def parse_env_line(line: str) -> tuple[str, str]:
    key, colon, value = line.partition(":")
    if not colon:
        raise AgiProtocolError(f"env line without a colon: {line[:80]!r}")
    if not _ENV_KEY.match(key):
        raise AgiProtocolError(f"env key is not agi_*: {key[:80]!r}")
    if _CONTROL.search(line):
        raise AgiProtocolError(f"control characters in env line {key!r}")
    # "agi_accountcode: " is an empty value: drop exactly the one separating space.
    return key, value[1:] if value.startswith(" ") else value


async def read_env(reader: asyncio.StreamReader, *, max_lines: int = MAX_ENV_LINES,
                   timeout: float = ENV_TIMEOUT) -> dict[str, str]:
    """Read the env block up to its empty line. Raises ``EnvIncomplete`` on EOF or deadline, and
    ``AgiProtocolError`` on anything that is not an ``agi_*`` line, an oversized line or too many lines."""
    env: dict[str, str] = {}
    lines = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    raw = await reader.readline()
                except ValueError as exc:  # StreamReader's limit: the line is longer than MAX_LINE
                    raise AgiProtocolError(f"env line longer than the limit ({exc})") from None
                if not raw.endswith(b"\n"):
                    raise EnvIncomplete(f"connection closed after {lines} env lines, before the empty line")
                line = decode_line(raw)
                if line == "":
                    if not env:
                        raise AgiProtocolError("empty env block")
                    return env
                lines += 1
                if lines > max_lines:
                    raise AgiProtocolError(f"env longer than {max_lines} lines")
                key, value = parse_env_line(line)
                env[key] = value
    except TimeoutError:
        raise EnvIncomplete(f"env not ended within {timeout:g} s ({lines} lines received)") from None


def parse_reply(lines: list[str]) -> AgiReply:
    """Parse one reply: a single status line, or for ``520-`` the whole usage block (first to last line)."""
    raw = "\n".join(lines)
    match = _STATUS.match(lines[0])
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {lines[0][:80]!r}")
    code, rest = int(match.group(1)), match.group(3)
    if code != 200:
        message = "\n".join([rest, *lines[1:]]) if len(lines) > 1 else rest
        return AgiReply(code, "", message, None, raw)
    result = _RESULT.match(rest)
    if result is None:
        raise AgiProtocolError(f"200 reply without result=: {lines[0][:80]!r}")
    token, tail = result.groups()
    data = None
    with_data = _DATA.match(tail)
    if with_data is not None:
        data, tail = with_data.groups()
    endpos = _ENDPOS.search(tail)
    return AgiReply(200, token, data, int(endpos.group(1)) if endpos else None, raw)


def is_usage_start(line: str) -> bool:
    return line.startswith("520-")


def is_usage_end(line: str) -> bool:
    return line.startswith("520 ")


class Quoted(str):
    """An argument always written in double quotes, even when it would not need them (``""``, values)."""


def quote(arg: str) -> str:
    """One command argument as Asterisk's ``parse_args`` reads it back: bare when it is a plain token,
    else in double quotes with ``"`` and ``\\`` backslash-escaped. CR, LF or NUL would end the line early
    and let a value inject a second AGI command, so they are refused with ValueError."""
    if "\n" in arg or "\r" in arg or "\x00" in arg:
        raise ValueError(f"AGI argument contains CR, LF or NUL: {arg[:40]!r}")
    if arg and not isinstance(arg, Quoted) and not _NEEDS_QUOTES.search(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(verb: str, *args: str) -> bytes:
    """The line for one command: ``verb`` (e.g. ``STREAM FILE``) as is, then the quoted arguments."""
    if not _VERB.match(verb):
        raise ValueError(f"not an AGI command name: {verb[:40]!r}")
    return (" ".join([verb, *(quote(a) for a in args)]) + "\n").encode()
