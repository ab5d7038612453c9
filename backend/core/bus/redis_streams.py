"""Redis Streams bus for production: one stream key per platform stream, ``XADD`` to publish,
``XREAD BLOCK`` to follow, ``XRANGE``-style reads to replay. Redis assigns the ids."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import redis.asyncio as redis

from backend.core.bus import FROM_START, ONLY_NEW
from backend.core.events import Envelope, Event, UnknownEvent

log = logging.getLogger("lianluo.bus")

_FIELD = b"e"
_BLOCK_MS = 2000  # below redis-py's default socket timeout (5 s): an idle XREAD must return before it
# Connections one process opens at most. Beyond them a caller waits for one (up to ``_POOL_WAIT`` s) instead
# of failing: a thousand consoles reconnecting to one ``serve`` at once must queue, not get errors.
_POOL_SIZE = 100
_POOL_WAIT = 20.0


class RedisStreamsBus:
    def __init__(self, url: str, *, prefix: str = "lianluo", max_len: int = 1_000_000) -> None:
        self._redis = redis.Redis.from_pool(redis.BlockingConnectionPool.from_url(
            url, decode_responses=False, max_connections=_POOL_SIZE, timeout=_POOL_WAIT))
        self._prefix = prefix
        self._max_len = max_len

    def key(self, stream: str) -> str:
        return f"{self._prefix}:{stream}"

    async def publish(self, event: Event, *, node: str | None = None, at: datetime | None = None) -> Envelope:
        at = at or datetime.now(UTC)
        raw = Envelope.encode(event, at, node)
        event_id = await self._redis.xadd(
            self.key(event.stream), {_FIELD: raw.encode()}, maxlen=self._max_len, approximate=True
        )
        return Envelope(event_id.decode(), event.stream, event, at, node)

    def _decode(self, stream: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Envelope]:
        out = []
        for raw_id, fields in entries:
            event_id = raw_id.decode()
            try:
                out.append(Envelope.decode(event_id, stream, fields[_FIELD]))
            except (UnknownEvent, KeyError) as exc:  # KeyError: an entry without our field
                log.warning("skipping undecodable event %s on %s: %r", event_id, stream, exc)
        return out

    async def read(self, stream: str, *, after: str = FROM_START, limit: int = 1000) -> list[Envelope]:
        if after == ONLY_NEW:
            return []
        # "(" makes the range exclusive of ``after`` (Redis ≥ 6.2).
        while entries := await self._redis.xrange(self.key(stream), min=f"({after}", max="+", count=limit):
            out = self._decode(stream, entries)
            if out:
                return out
            after = entries[-1][0].decode()  # a run of unreadable entries is not the end of the stream
        return []

    async def subscribe(self, stream: str, *, after: str = ONLY_NEW) -> AsyncIterator[Envelope]:
        key = self.key(stream)
        # Resolve "$" once: re-sending "$" on every XREAD would drop events published between reads.
        cursor = (await self.last_id(stream) or FROM_START) if after == ONLY_NEW else after
        while True:
            reply = await self._redis.xread({key: cursor}, count=500, block=_BLOCK_MS)
            if not reply:
                continue
            for _key, entries in reply:
                if entries:
                    cursor = entries[-1][0].decode()
                for env in self._decode(stream, entries):
                    yield env

    async def last_id(self, stream: str) -> str | None:
        entries = await self._redis.xrevrange(self.key(stream), count=1)
        return entries[0][0].decode() if entries else None

    async def ping(self) -> None:
        await self._redis.ping()

    async def delete_streams(self, *streams: str) -> None:
        """Remove streams (tests and operators resetting an environment)."""
        if streams:
            await self._redis.delete(*(self.key(s) for s in streams))

    async def close(self) -> None:
        await self._redis.aclose()
