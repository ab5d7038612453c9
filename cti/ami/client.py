"""The AMI link: login, actions correlated by ActionID, list actions gathered into one result,
events handed on strictly in arrival order, and reconnection with capped backoff.

Why not panoramisk's Manager: it runs every event callback as an independent task, so a slow handler
lets a later event overtake an earlier one; it retries a lost connection every 2 s forever with no
backoff; and it treats "accepted, then closed without a banner" (seen while Asterisk restarts) like
any other state. Here one task reads the socket, responses resolve their futures at once, and events
go through one queue to one consumer, so handlers see them in the order Asterisk sent them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from cti.ami.frames import AmiMessage, FrameDecoder, encode_action

log = logging.getLogger("lianluo.cti.ami")


class AmiError(Exception):
    pass


class LoginFailed(AmiError):
    """Asterisk refused the username/secret: a configuration error, not worth retrying."""


class ConnectionLost(AmiError):
    pass


class ActionTimeout(AmiError):
    """No response within the action timeout: the link is up but Asterisk (or the network) is not answering."""


class ActionFailed(AmiError):
    def __init__(self, action: str, response: AmiMessage) -> None:
        super().__init__(f"{action}: {response.get('Message', 'error')}")
        self.response = response


@dataclass(frozen=True)
class AmiSettings:
    host: str
    port: int
    username: str
    secret: str
    connect_timeout: float = 5.0
    action_timeout: float = 10.0
    ping_interval: float = 20.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass
class ListResult:
    """A list action's answer: the first response, the items, and the ``…Complete`` event."""

    response: AmiMessage
    items: list[AmiMessage] = field(default_factory=list)
    complete: AmiMessage | None = None


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[AmiMessage | ListResult]
    listing: ListResult | None = None  # set once the response said "EventList: start"


_ids = itertools.count(1)
_ID_PREFIX = f"ll{os.getpid()}"


def next_action_id() -> str:
    return f"{_ID_PREFIX}-{next(_ids)}"


class AmiSession:
    """One TCP session with Asterisk, logged in. Lost for good when the socket closes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: AmiSettings) -> None:
        self._reader = reader
        self._writer = writer
        self.settings = settings
        self._decoder = FrameDecoder()
        self._pending: dict[str, _Pending] = {}
        self._events: asyncio.Queue[AmiMessage | None] = asyncio.Queue()
        self._reading: asyncio.Task[None] | None = None
        self.banner: str | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, settings: AmiSettings) -> AmiSession:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.host, settings.port), settings.connect_timeout)
        session = cls(reader, writer, settings)
        try:
            await session._read_banner()
            session._reading = asyncio.create_task(session._read_loop(), name="ami-read")
            response = await session.send("Login", [("Username", settings.username), ("Secret", settings.secret),
                                                    ("Events", "on")], check=False)
        except BaseException:
            await session.close()
            raise
        if response.response != "Success":
            await session.close()
            raise LoginFailed(f"AMI login as {settings.username!r} refused: {response.get('Message', '')}")
        return session

    async def _read_banner(self) -> None:
        while self._decoder.banner is None:
            chunk = await asyncio.wait_for(self._reader.read(65536), self.settings.connect_timeout)
            if not chunk:
                raise ConnectionLost("connected, but Asterisk closed the socket before its banner")
            for message in self._decoder.feed(chunk):
                self._route(message)
            if self._decoder.banner is None and not self._decoder.awaiting_banner:
                raise ConnectionLost("the peer did not greet like Asterisk's AMI")
        log.info("AMI connected to %s:%s (%s)", self.settings.host, self.settings.port, self._decoder.banner)
        self.banner = self._decoder.banner

    async def _read_loop(self) -> None:
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    break
                arrived = time.perf_counter()
                for message in self._decoder.feed(chunk):
                    message.received_at = arrived
                    self._route(message)
        except (ConnectionError, OSError) as exc:
            log.warning("AMI socket error: %s", exc)
        finally:
            self._lost()

    def _route(self, message: AmiMessage) -> None:
        pending = self._pending.get(message.action_id or "")
        if pending is not None:
            if message.response is not None and pending.listing is None:
                if message.get("EventList") == "start" and message.response == "Success":
                    pending.listing = ListResult(message)
                    return
                self._resolve(message.action_id, message)
                return
            if pending.listing is not None and message.event is not None:
                if message.get("EventList") == "Complete":
                    pending.listing.complete = message
                    self._resolve(message.action_id, pending.listing)
                else:
                    pending.listing.items.append(message)
                return
        if message.event is not None:
            self._events.put_nowait(message)
        elif message.response is not None:
            log.debug("AMI response for no pending action: %s", message.action_id)

    def _resolve(self, action_id: str | None, value: AmiMessage | ListResult) -> None:
        pending = self._pending.pop(action_id or "", None)
        if pending is not None and not pending.future.done():
            pending.future.set_result(value)

    def _lost(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(ConnectionLost(f"{pending.action}: connection lost"))
        self._pending.clear()
        self._events.put_nowait(None)

    async def _request(self, action: str, headers: Iterable[tuple[str, str]],
                       action_id: str | None = None) -> AmiMessage | ListResult:
        if self.closed.is_set():
            raise ConnectionLost(f"{action}: not connected")
        action_id = action_id or next_action_id()
        future: asyncio.Future[AmiMessage | ListResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(action, future)
        try:
            self._writer.write(encode_action(action, action_id, headers))
            await self._writer.drain()
            return await asyncio.wait_for(future, self.settings.action_timeout)
        except TimeoutError:  # before OSError: TimeoutError is one since Python 3.10
            raise ActionTimeout(f"{action}: no response within {self.settings.action_timeout:g}s") from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"{action}: {exc}") from exc
        finally:
            self._pending.pop(action_id, None)

    async def send(self, action: str, headers: Iterable[tuple[str, str]] = (), *, check: bool = True,
                   action_id: str | None = None) -> AmiMessage:
        """Send an action; its response. ``check``: raise ActionFailed on ``Response: Error``.
        ``action_id``: chosen by the caller when events must be tied to it before the response (Originate)."""
        result = await self._request(action, headers, action_id)
        assert isinstance(result, AmiMessage)
        if check and result.response == "Error":
            raise ActionFailed(action, result)
        return result

    async def send_list(self, action: str, headers: Iterable[tuple[str, str]] = ()) -> ListResult:
        """A list action (QueueStatus, Status, CoreShowChannels …): every item up to ``…Complete``."""
        result = await self._request(action, headers)
        if isinstance(result, AmiMessage):  # an error, or an empty answer without a list
            if result.response == "Error":
                raise ActionFailed(action, result)
            return ListResult(result)
        return result

    async def events(self) -> AsyncIterator[AmiMessage]:
        """Events in the order Asterisk sent them, until the session ends."""
        while True:
            message = await self._events.get()
            if message is None:
                return
            yield message

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        self._lost()


def backoff_delays(initial: float, cap: float, rng: random.Random | None = None) -> Iterable[float]:
    """Exponential backoff with jitter, capped: 0.5, ~1, ~2, … up to ``cap`` seconds."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield min(cap, delay) * (0.8 + 0.4 * rng.random())
        delay = min(cap, delay * 2)


EventHandler = Callable[[AmiMessage], Awaitable[None]]
ConnectHandler = Callable[[AmiSession], Awaitable[None]]


class AmiClient:
    """Keeps a session with one Asterisk node and feeds its events, in order, to one handler.

    ``on_connect`` runs after every (re)login and before any event of that session is handed on:
    the place to rebuild state from list actions. A refused login ends ``run`` with LoginFailed.
    """

    def __init__(self, settings: AmiSettings, on_event: EventHandler, on_connect: ConnectHandler | None = None) -> None:
        self.settings = settings
        self.on_event = on_event
        self.on_connect = on_connect
        self.attempts = 0
        self.connected = asyncio.Event()
        self.session: AmiSession | None = None  # the logged-in, resynced session, for sending actions

    async def run(self, stop: asyncio.Event) -> None:
        delays = iter(backoff_delays(self.settings.backoff_initial, self.settings.backoff_max))
        while not stop.is_set():
            self.attempts += 1
            try:
                session = await AmiSession.open(self.settings)
            except LoginFailed:
                log.error("AMI login refused for %r; check LIANLUO_AMI_USERNAME/SECRET and manager.conf",
                          self.settings.username)
                raise
            except (OSError, ConnectionLost, TimeoutError) as exc:
                delay = next(delays)
                log.warning("AMI connect attempt %d to %s:%s failed (%s); next in %.2fs", self.attempts,
                            self.settings.host, self.settings.port, exc or type(exc).__name__, delay)
                await _sleep_unless(stop, delay)
                continue
            delays = iter(backoff_delays(self.settings.backoff_initial, self.settings.backoff_max))
            try:
                await self._serve(session, stop)
            except (ConnectionLost, ActionTimeout, OSError) as exc:
                # Lost while resyncing (Asterisk restarting again, say): the same as any lost link.
                log.warning("AMI session ended during set-up: %s", exc)
            finally:
                self.connected.clear()
                self.session = None
                await session.close()
            if not stop.is_set():
                log.warning("AMI connection to %s:%s lost; reconnecting", self.settings.host, self.settings.port)

    async def _serve(self, session: AmiSession, stop: asyncio.Event) -> None:
        if self.on_connect is not None:
            await self.on_connect(session)
        self.session = session
        self.connected.set()
        pinger = asyncio.create_task(self._ping(session), name="ami-ping")
        stopper = asyncio.create_task(stop.wait(), name="ami-stop")
        consumer = asyncio.create_task(self._consume(session), name="ami-events")
        try:
            await asyncio.wait({pinger, stopper, consumer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pinger, stopper, consumer):
                task.cancel()
            await asyncio.gather(pinger, stopper, consumer, return_exceptions=True)

    async def _consume(self, session: AmiSession) -> None:
        async for event in session.events():
            try:
                await self.on_event(event)
            except Exception:
                log.exception("handling AMI event %s failed; skipped", event.event)

    async def _ping(self, session: AmiSession) -> None:
        # Keeps the link honest: a half-open TCP connection shows up as a Ping that gets no answer.
        while not session.closed.is_set():
            await asyncio.sleep(self.settings.ping_interval)
            try:
                await session.send("Ping")
            except AmiError as exc:
                log.warning("AMI ping failed (%s); dropping the connection", exc)
                return


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
