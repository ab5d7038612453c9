"""One FastAGI call: the env Asterisk sent, and commands written one at a time, each waiting for its reply.

A ``HANGUP`` line in place of a reply, a ``511`` (dead channel), EOF or a reset connection all raise
``CallerGone``; no reply within the command's timeout raises ``ChannelTimeout``. Either way the session is
finished: later commands raise the same error at once and nothing more is written to the socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ivr.agi.protocol import (
    HANGUP_LINE,
    MAX_USAGE_LINES,
    AgiProtocolError,
    AgiReply,
    Quoted,
    decode_line,
    format_command,
    is_usage_end,
    is_usage_start,
    parse_reply,
)
from ivr.flows.channel import CallerGone, ChannelTimeout

log = logging.getLogger(__name__)

ALL_DIGITS = "0123456789*#"
COMMAND_TIMEOUT = 10.0
# Commands that play audio last as long as the prompt; this bounds them without cutting real prompts short.
MEDIA_TIMEOUT = 300.0


class AgiSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, env: dict[str, str], *,
                 command_timeout: float = COMMAND_TIMEOUT, media_timeout: float = MEDIA_TIMEOUT,
                 on_reaction: Callable[[float], None] | None = None) -> None:
        self.reader = reader
        self.writer = writer
        self.env = env
        self.command_timeout = command_timeout
        self.media_timeout = media_timeout
        self._lock = asyncio.Lock()  # one command in flight: replies carry no id to match them by
        self._finished: BaseException | None = None
        # Reaction time: from a reply carrying the caller's digits reaching the process to our next command
        # being written. ``on_reaction`` receives it in seconds (the IVR benchmark's figure).
        self.on_reaction = on_reaction
        self._digits_arrived_at: float | None = None

    @property
    def script(self) -> str:
        """The flow name: the path of the ``agi://host:port/<flow>`` URL."""
        return self.env.get("agi_network_script", "").strip("/") or "default"

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def callerid(self) -> str | None:
        return _known(self.env.get("agi_callerid"))

    @property
    def dnid(self) -> str | None:
        return _known(self.env.get("agi_dnid"))

    @property
    def extension(self) -> str | None:
        return _known(self.env.get("agi_extension"))

    @property
    def finished(self) -> bool:
        return self._finished is not None

    async def command(self, verb: str, *args: str, timeout: float | None = None) -> AgiReply:
        """Write ``verb args…`` (arguments quoted as needed; ``Quoted`` forces quotes) and read its reply."""
        line = format_command(verb, *args)  # before any I/O: a bad argument writes nothing
        async with self._lock:
            if self._finished is not None:
                raise _again(self._finished)
            try:
                async with asyncio.timeout(self.command_timeout if timeout is None else timeout):
                    self.writer.write(line)
                    if self._digits_arrived_at is not None:
                        if self.on_reaction is not None:
                            self.on_reaction(time.perf_counter() - self._digits_arrived_at)
                        self._digits_arrived_at = None
                    await self.writer.drain()
                    reply = await self._read_reply()
            except TimeoutError:
                self._finished = ChannelTimeout(f"no reply to {verb} on {self.channel or '?'}")
                raise self._finished from None
            except (ConnectionError, OSError) as exc:
                self._finished = CallerGone(f"connection lost during {verb}: {exc}")
                raise self._finished from None
            except (CallerGone, AgiProtocolError) as exc:
                self._finished = exc
                raise
            except asyncio.CancelledError:
                # A reply may still be on its way: the next command would read it as its own.
                self._finished = CallerGone(f"{verb} cancelled")
                raise
        if reply.code == 511:
            self._finished = CallerGone(f"{verb}: {reply.data}")
            raise self._finished
        if _carries_digits(verb, reply):
            self._digits_arrived_at = getattr(self.reader, "arrived_at", None) or time.perf_counter()
        return reply

    async def _read_reply(self) -> AgiReply:
        first = await self._read_line()
        if not is_usage_start(first):
            return parse_reply([first])
        lines = [first]
        while not is_usage_end(lines[-1]):
            if len(lines) > MAX_USAGE_LINES:
                raise AgiProtocolError(f"520 usage longer than {MAX_USAGE_LINES} lines")
            lines.append(await self._read_line())
        return parse_reply(lines)

    async def _read_line(self) -> str:
        try:
            raw = await self.reader.readline()
        except ValueError:  # longer than the reader's limit
            raise AgiProtocolError("reply line longer than the limit") from None
        if not raw.endswith(b"\n"):
            raise CallerGone("connection closed by Asterisk")
        line = decode_line(raw)
        if line == HANGUP_LINE:
            raise CallerGone("HANGUP from Asterisk")
        return line

    async def answer(self) -> None:
        reply = await self.command("ANSWER")
        if reply.result_int == -1:
            self._finished = CallerGone("ANSWER failed: channel gone")
            raise self._finished

    async def stream_file(self, name: str, escape_digits: str = ALL_DIGITS) -> str | None:
        """Play a sound file; the digit that interrupted it, or None. A missing file is logged, not raised."""
        reply = await self.command("STREAM FILE", name, Quoted(escape_digits), timeout=self.media_timeout)
        return self._digit(reply, "STREAM FILE", name)

    async def say_digits(self, digits: str, escape: str = "") -> str | None:
        reply = await self.command("SAY DIGITS", digits, Quoted(escape), timeout=self.media_timeout)
        return self._digit(reply, "SAY DIGITS", digits)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``prompt`` ("" plays nothing) and collect up to ``max_digits`` digits; Asterisk ends input on
        ``#`` and leaves it out. None: nothing typed (timeout, ``#`` alone, or the prompt failed to play)."""
        reply = await self.command("GET DATA", prompt, str(timeout_ms), str(max_digits),
                                   timeout=self.media_timeout + timeout_ms / 1000)
        if reply.code != 200 or reply.result == "-1":
            log.warning("GET DATA %s failed on %s: %s", prompt, self.channel, reply.raw)
            return None
        return reply.result or None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, Quoted(value))

    async def get_variable(self, name: str) -> str | None:
        return _value(await self.command("GET VARIABLE", name))

    async def get_full_variable(self, expr: str) -> str | None:
        return _value(await self.command("GET FULL VARIABLE", expr))

    async def verbose(self, msg: str, level: int = 1) -> None:
        await self.command("VERBOSE", Quoted(msg), str(level))

    async def exec(self, app: str, args: str = "") -> AgiReply:
        return await self.command("EXEC", app, Quoted(args), timeout=self.media_timeout)

    async def hangup(self) -> None:
        """Hang the channel up. A caller already gone is what we wanted, so that is not an error."""
        try:
            await self.command("HANGUP")
        except CallerGone:
            return
        # Asterisk answers anything after this with 511 or a HANGUP line: do not write it at all.
        self._finished = CallerGone("the call was hung up by the flow")

    def _digit(self, reply: AgiReply, verb: str, what: str) -> str | None:
        code = reply.result_int
        if reply.code != 200 or code is None or code < 0:
            log.warning("%s %s failed on %s: %s", verb, what, self.channel, reply.raw)
            return None
        return chr(code) if 0 < code < 128 else None


def _carries_digits(verb: str, reply: AgiReply) -> bool:
    """The reply brings keys the caller pressed: digits collected, or a key that interrupted a prompt."""
    if reply.code != 200:
        return False
    if verb == "GET DATA":
        return reply.result not in ("", "-1")
    return verb in ("STREAM FILE", "SAY DIGITS", "SAY NUMBER", "WAIT FOR DIGIT") and (reply.result_int or 0) > 0


def _known(value: str | None) -> str | None:
    return None if value in (None, "", "unknown") else value


def _value(reply: AgiReply) -> str | None:
    return reply.data if reply.code == 200 and reply.result == "1" else None


def _again(first: BaseException) -> BaseException:
    """A fresh exception of the same kind as the one that finished the session."""
    return type(first)(f"session already finished: {first}")
