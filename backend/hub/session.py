"""One console connection: a few small tasks run together — transmit, receive, ping, token check.

When one ends, the others are cancelled and the reason becomes the close code (``ws.py`` lists them).
The periodic tasks (ping, token check) start at a random point of their period, so the thousand consoles
that reconnect together after a restart are not pinged and re-authenticated in the same instant ever after.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass

from fastapi import WebSocket

from backend.auth.principal import Principal
from backend.core.bus import FROM_START, ONLY_NEW, parse_id
from backend.core.problems import Unauthenticated
from backend.hub.audience import Viewer
from backend.hub.fanout import Fanout, Subscriber, form_for, frame

CLOSE_NORMAL = 1000
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013  # the bus is unreachable: reconnect later (to any instance)
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_HEARTBEAT = 4408  # nothing heard from the client for two ping intervals
CLOSE_TOO_SLOW = 4429  # the client fell too far behind; it resumes from its last id

PING = json.dumps({"type": "ping"})
REPLAY_PAGE = 500


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass
class Session:
    websocket: WebSocket
    principal: Principal
    fanout: Fanout
    cursors: dict[str, str]  # stream → the last id the client saw, or ONLY_NEW
    ping_seconds: float
    token_check_seconds: float

    def __post_init__(self) -> None:
        self.viewer = Viewer.of(self.principal)
        self._send_lock = asyncio.Lock()
        self._last_heard = time.monotonic()
        self._greeted = asyncio.Event()  # the hello frame is out: the protocol says it comes first

    async def _send(self, text: str) -> None:
        async with self._send_lock:
            await self.websocket.send_text(text)

    async def transmit(self, sub: Subscriber) -> None:
        """What the client missed, read from the bus stream by stream, then the live feed without repeats.

        The subscriber was attached before the replay starts, so an event published meanwhile is either
        in the replay or in the queue (or both: the queue skips what the replay already sent)."""
        router, bus = self.fanout.router, self.fanout.bus
        # A stream the client has no id for starts at its current end, and the client is told that id,
        # so it can resume every stream exactly, even one it has received nothing from yet.
        cursors = {stream: after if after != ONLY_NEW else (await bus.last_id(stream) or FROM_START)
                   for stream, after in self.cursors.items()}
        await self._send(json.dumps({"type": "hello", "after": cursors}))
        self._greeted.set()
        sent: dict[str, tuple[int, int]] = {}
        for stream, after in cursors.items():
            if self.cursors[stream] == ONLY_NEW:
                sent[stream] = parse_id(after)
                continue
            while batch := await bus.read(stream, after=after, limit=REPLAY_PAGE):
                for env in batch:
                    audience = await router.audience(env)
                    if audience.admits(self.viewer):
                        await self._send(frame(env, form=form_for(audience, self.viewer, env.event)))
                after = batch[-1].id
            sent[stream] = parse_id(after)
        while True:
            delivery = await sub.queue.get()
            if delivery is None:
                raise Closed(CLOSE_TOO_SLOW, "client too slow")
            env = delivery.envelope
            last = sent.get(env.stream)
            if last is not None and parse_id(env.id) <= last:
                continue
            await self._send(delivery.frame_for(self.viewer))

    async def receive(self) -> None:
        # Any message counts as a sign of life; the client answers pings with {"type": "pong"}.
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise Closed(CLOSE_NORMAL, "client closed")
            self._last_heard = time.monotonic()

    async def ping(self) -> None:
        await self._greeted.wait()
        self._last_heard = time.monotonic()  # silence counts from the first ping on, however long the replay took
        await asyncio.sleep(random.uniform(0, self.ping_seconds))
        while True:
            if time.monotonic() - self._last_heard > 2 * self.ping_seconds:
                raise Closed(CLOSE_HEARTBEAT, "heartbeat timeout")
            await self._send(PING)
            await asyncio.sleep(self.ping_seconds)

    async def check_token(self, authenticate) -> None:  # type: ignore[no-untyped-def]
        # A database round trip per console per period: a thousand at once would stall every screen pop.
        await asyncio.sleep(random.uniform(0, self.token_check_seconds))
        while True:
            try:
                await authenticate()
            except Unauthenticated:
                raise Closed(CLOSE_UNAUTHENTICATED, "session ended") from None
            await asyncio.sleep(self.token_check_seconds)
