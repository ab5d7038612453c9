"""A fake Asterisk AMI server that replays recorded real Asterisk traffic, for client tests.

The traces in ``tests/data/asterisk-traces`` were recorded from a real Asterisk 22 (see the README there).
``TraceReplayServer`` listens on 127.0.0.1 and, for each connection, plays one recorded scenario back: the
banner, then for every action the client sends, the bytes Asterisk really sent after the matching recorded
action, in the recorded TCP chunks (optionally with the recorded gaps between them), and the recorded close.
That makes it ground truth for the AMI client: a test against it exercises real framing, real interleaving of
responses and events, real list actions and real failure modes, not a hand-written imitation of them.

The banner is always sent on accept, as Asterisk does: in two traces the recording client sent Login before
the banner arrived, and replaying that order literally would deadlock a client that waits for the banner.

The only change to the recorded bytes is the ``ActionID``: the client picks its own ids, so every
``ActionID: <recorded id>`` header is rewritten to the id the client used for the matching action (or
removed when the client sent none, as Asterisk would not echo one). Actions are matched by order and
``Action`` name, so a client must send the scenario's actions (see ``<scenario>.ami.sent.txt``) in order;
anything else is recorded in ``errors`` and the connection is closed, which makes the test fail visibly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from cti.ami.frames import AmiMessage, FrameDecoder

log = logging.getLogger("tests.ami_replay")

TRACES_DIR = Path(__file__).parent / "data" / "asterisk-traces"
# At line start only, so a value that merely mentions "ActionID: x" is never touched.
BANNER_PREFIX = b"Asterisk Call Manager/"
_ACTION_ID_LINE = re.compile(rb"(?m)^ActionID: ([^\r\n]*)\r\n")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One recorded ``recv()``: ``data`` is None for ``rx-eof`` (Asterisk closed the socket)."""

    t: float
    data: bytes | None


@dataclass(slots=True)
class Step:
    """One recorded action and the server chunks that followed it up to the next action."""

    action: AmiMessage
    t: float
    replies: list[Chunk] = field(default_factory=list)


@dataclass(slots=True)
class Trace:
    name: str
    prelude: list[Chunk]  # sent on accept: the banner (or the close of a half-started Asterisk)
    steps: list[Step]


def header(message: AmiMessage, name: str) -> str | None:
    """A header looked up case-insensitively: Asterisk accepts ``action: ping`` and so must the fake."""
    wanted = name.lower()
    for key, value in message.fields.items():
        if key.lower() == wanted:
            return value
    return None


def load_trace(scenario: str) -> Trace:
    """Split ``<scenario>.ami.jsonl`` into the prelude and one step per recorded action."""
    path = TRACES_DIR / f"{scenario}.ami.jsonl"
    prelude: list[Chunk] = []
    steps: list[Step] = []
    # The recorded actions are parsed exactly like the client's, so both sides compare like with like.
    tx_decoder = FrameDecoder(expect_banner=False)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        t = float(entry["t"])
        direction = entry["dir"]
        if direction == "tx":
            for action in tx_decoder.feed(entry["data"].encode("utf-8")):
                steps.append(Step(action, t))
            continue
        if direction == "rx":
            chunk = Chunk(t, entry["data"].encode("utf-8"))
        elif direction == "rx-eof":
            chunk = Chunk(t, None)
        else:
            raise ValueError(f"{path.name}: unknown direction {direction!r}")
        (steps[-1].replies if steps else prelude).append(chunk)
    if not prelude and steps:
        _hoist_banner(steps[0], prelude)
    return Trace(scenario, prelude, steps)


def _hoist_banner(first: Step, prelude: list[Chunk]) -> None:
    """Move the banner before the first action when the recording client sent Login without waiting for it.

    Asterisk writes the banner on accept whatever the client does; only the race of the recording put it
    after the Login (inbound_ivr_queue_answered; in outbound_noanswer it even shares a chunk with the Login
    reply, which is split here). Replayed as recorded, a client that waits for the banner would hang.
    """
    if not first.replies:
        return
    t, data = first.replies[0].t, first.replies[0].data
    if data is None or not data.startswith(BANNER_PREFIX) or b"\r\n" not in data:
        return
    line_end = data.index(b"\r\n") + 2
    prelude.append(Chunk(t, data[:line_end]))
    first.replies[0:1] = [Chunk(t, data[line_end:])] if data[line_end:] else []


def rewrite_action_ids(data: bytes, ids: dict[str, str | None]) -> bytes:
    """Recorded ids to the client's, in one pass so a new id equal to another recorded id is left alone."""

    def swap(match: re.Match[bytes]) -> bytes:
        recorded = match.group(1).decode("utf-8", "replace")
        if recorded not in ids:
            return match.group(0)
        new = ids[recorded]
        return b"" if new is None else b"ActionID: " + new.encode("utf-8") + b"\r\n"

    return _ACTION_ID_LINE.sub(swap, data)


class TraceReplayServer:
    """Replays recorded AMI scenarios to whoever connects to 127.0.0.1:<port>.

    ``scenario`` is a base name in ``tests/data/asterisk-traces`` or a list of them: the k-th accepted
    connection replays the k-th scenario and the last one repeats (a restart followed by a reconnect).
    ``speed`` multiplies the recorded gaps between server chunks: 0 sends at once, 1.0 is real time.
    ``accept_and_drop_first`` connections are accepted and closed at once without a banner, as Asterisk
    did right after ``core restart now``; they do not consume a scenario.
    ``passive``: after the login step, stream the rest of the recording whatever the client sends (a
    bridge that only listens), answering the client's own actions as an idle Asterisk would — list
    actions with an empty list, anything else with Success — between recorded frames.
    """

    def __init__(
        self,
        scenario: str | Sequence[str],
        *,
        speed: float = 0.0,
        secret: str = "cti-secret",
        username: str = "cti",
        login_fail_delay: float = 0.05,
        accept_and_drop_first: int = 0,
        passive: bool = False,
    ) -> None:
        names = [scenario] if isinstance(scenario, str) else list(scenario)
        if not names:
            raise ValueError("at least one scenario is needed")
        self.traces = [load_trace(name) for name in names]
        self.speed = speed
        self.secret = secret
        self.username = username
        self.login_fail_delay = login_fail_delay
        self.accept_and_drop_first = accept_and_drop_first
        self.passive = passive
        self.received: list[AmiMessage] = []
        self.connections = 0
        self.errors: list[str] = []  # mismatches between what the client sent and the scenario
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._replayed = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> TraceReplayServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            if self.connections <= self.accept_and_drop_first:
                return  # the finally block closes it: accepted, no banner, 0 bytes
            trace = self.traces[min(self._replayed, len(self.traces) - 1)]
            self._replayed += 1
            await self._replay(trace, reader, writer)
        except asyncio.CancelledError:
            # Only close() cancels these tasks; re-raising would make asyncio log every open connection.
            pass
        except (ConnectionError, OSError) as exc:
            # The client going away mid-replay is a normal test outcome, not a server failure.
            log.info("replay connection ended: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)

    async def _replay(self, trace: Trace, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ids: dict[str, str | None] = {}
        decoder = FrameDecoder(expect_banner=False)
        pending: deque[AmiMessage] = deque()
        clock = 0.0  # recorded time of the last thing replayed, to reproduce the gaps

        async def send(chunks: list[Chunk]) -> bool:
            """The recorded chunks one write each; False once the recording says Asterisk closed."""
            nonlocal clock
            for chunk in chunks:
                if self.speed > 0:
                    await asyncio.sleep(max(0.0, chunk.t - clock) * self.speed)
                clock = chunk.t
                if chunk.data is None:
                    return False
                writer.write(rewrite_action_ids(chunk.data, ids))
                await writer.drain()
            return True

        if not await send(trace.prelude):
            return
        for index, step in enumerate(trace.steps):
            action = await self._next_action(reader, decoder, pending)
            if action is None:
                return
            sent = header(action, "Action") or ""
            expected = header(step.action, "Action") or ""
            if sent.lower() != expected.lower():
                self._fail(f"{trace.name}: action #{index + 1} is {sent!r}, the recording has {expected!r}")
                return
            client_id = header(action, "ActionID")
            recorded_id = header(step.action, "ActionID")
            if recorded_id is not None:
                ids[recorded_id] = client_id
            if sent.lower() == "login" and not self._credentials_ok(action):
                await self._refuse_login(writer, client_id)
                return
            clock = step.t
            if not await send(step.replies):
                return
            if self.passive and sent.lower() == "login":
                await self._stream_rest(trace.steps[index + 1:], reader, writer, decoder, pending, ids)
                return
        # Script done: stay connected like an idle Asterisk, keep recording what the client sends.
        while await self._next_action(reader, decoder, pending) is not None:
            log.info("%s: action after the end of the recording ignored", trace.name)

    async def _next_action(
        self, reader: asyncio.StreamReader, decoder: FrameDecoder, pending: deque[AmiMessage]
    ) -> AmiMessage | None:
        while not pending:
            data = await reader.read(65536)
            if not data:
                return None
            messages = decoder.feed(data)
            self.received.extend(messages)
            pending.extend(messages)
        return pending.popleft()

    async def _stream_rest(self, steps: list[Step], reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           decoder: FrameDecoder, pending: deque[AmiMessage], ids: dict[str, str | None]) -> None:
        async def read_actions() -> None:
            while data := await reader.read(65536):
                messages = decoder.feed(data)
                self.received.extend(messages)
                pending.extend(messages)  # answered by the streamer, between recorded frames

        reading = asyncio.create_task(read_actions())
        await asyncio.sleep(0.05)  # a bridge resyncs right after login, before anything else happens
        tail = b"\r\n\r\n"
        clock = steps[0].t if steps else 0.0
        try:
            for step in steps:
                for chunk in step.replies:
                    if self.speed > 0:
                        await asyncio.sleep(max(0.0, chunk.t - clock) * self.speed)
                    clock = chunk.t
                    if tail.endswith(b"\r\n\r\n"):  # only between whole frames
                        await self._answer(writer, pending)
                    if chunk.data is None:
                        return
                    data = rewrite_action_ids(chunk.data, ids)
                    writer.write(data)
                    await writer.drain()
                    tail = (tail + data)[-4:]
            while not reading.done():
                await self._answer(writer, pending)
                await asyncio.sleep(0.01)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _answer(self, writer: asyncio.StreamWriter, pending: deque[AmiMessage]) -> None:
        while pending:
            writer.write(idle_reply(pending.popleft()))
            await writer.drain()

    def _credentials_ok(self, action: AmiMessage) -> bool:
        return header(action, "Username") == self.username and header(action, "Secret") == self.secret

    async def _refuse_login(self, writer: asyncio.StreamWriter, client_id: str | None) -> None:
        # What ami_bad_login recorded, minus the real 1 s penalty that would only slow tests down.
        await asyncio.sleep(self.login_fail_delay)
        id_line = b"" if client_id is None else b"ActionID: " + client_id.encode("utf-8") + b"\r\n"
        writer.write(b"Response: Error\r\n" + id_line + b"Message: Authentication failed\r\n\r\n")
        await writer.drain()

    def _fail(self, message: str) -> None:
        log.error("%s", message)
        self.errors.append(message)


_LISTS = {"coreshowchannels": b"CoreShowChannelsComplete", "queuestatus": b"QueueStatusComplete",
          "status": b"StatusComplete"}
RESYNC_ACTIONS = frozenset({"coreshowchannels", "queuestatus"})  # what the CTI bridge lists after each login


def idle_reply(action: AmiMessage) -> bytes:
    """What an Asterisk with no calls and no queue members answers: empty lists, Pong, Success."""
    name = (header(action, "Action") or "").lower()
    id_line = b"ActionID: " + (header(action, "ActionID") or "").encode() + b"\r\n"
    if name in _LISTS:
        return (b"Response: Success\r\n" + id_line + b"EventList: start\r\nMessage: List will follow\r\n\r\n"
                b"Event: " + _LISTS[name] + b"\r\n" + id_line + b"EventList: Complete\r\nListItems: 0\r\n\r\n")
    if name == "ping":
        return b"Response: Success\r\n" + id_line + b"Ping: Pong\r\nTimestamp: 0.000000\r\n\r\n"
    return b"Response: Success\r\n" + id_line + b"\r\n"


def streaming_peer(chunks: Iterable[bytes], *, gap: float = 0.0, done: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
    """A connection handler for ``asyncio.start_server``: greets, accepts any login, answers the bridge's
    resync like an idle Asterisk, then writes ``chunks`` (``gap`` seconds apart) and stays connected.
    For input no recording has: hostile bytes, or a long stream at a chosen rate."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder(expect_banner=False)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        waiting = set(RESYNC_ACTIONS)
        while waiting:
            data = await reader.read(65536)
            if not data:
                return
            for action in decoder.feed(data):
                waiting.discard((header(action, "Action") or "").lower())
                writer.write(idle_reply(action))
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            if gap:
                await asyncio.sleep(gap)
        if done is not None:
            done.set()
        await reader.read()

    return handle
