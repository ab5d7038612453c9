"""The platform event bus: publish typed events, subscribe with replay from an event id.

Two implementations behind :class:`Bus`: in-process (embedded default, ``memory://``) and Redis
Streams (production, ``redis://…``). Both assign ids of the form ``<milliseconds>-<sequence>``,
strictly increasing per stream, so a consumer that was away resumes with ``subscribe(after=last_id)``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from backend.core.events import Envelope, Event

log = logging.getLogger("lianluo.bus")

# ``after`` values for subscribe/read
FROM_START = "0-0"
ONLY_NEW = "$"


class Bus(Protocol):
    async def publish(self, event: Event, *, node: str | None = None, at: datetime | None = None) -> Envelope:
        """Append ``event`` to its stream; returns it with the id the bus gave it."""

    async def read(self, stream: str, *, after: str = FROM_START, limit: int = 1000) -> list[Envelope]:
        """Up to ``limit`` events of ``stream`` with ids greater than ``after``, oldest first."""

    def subscribe(self, stream: str, *, after: str = ONLY_NEW) -> AsyncIterator[Envelope]:
        """Every event of ``stream`` after ``after`` (an id, ``FROM_START`` or ``ONLY_NEW``), in order, forever."""

    async def last_id(self, stream: str) -> str | None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def publish_quietly(bus: Bus, event: Event, *, node: str | None = None) -> Envelope | None:
    """Publish a notification whose record of truth is elsewhere (e.g. the audit log): a bus outage
    is logged and must not fail the user's request."""
    try:
        return await bus.publish(event, node=node)
    except Exception:
        log.warning("event %s not published: bus unavailable", event.type, exc_info=True)
        return None


def parse_id(event_id: str) -> tuple[int, int]:
    try:
        ms, seq = event_id.split("-", 1)
        return int(ms), int(seq)
    except ValueError:
        raise ValueError(f"not a bus event id: {event_id!r}") from None


def create_bus(url: str, *, prefix: str = "lianluo", max_len: int = 1_000_000) -> Bus:
    if url.startswith("memory://"):
        from backend.core.bus.memory import MemoryBus

        return MemoryBus(max_len=max_len)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from backend.core.bus.redis_streams import RedisStreamsBus

        return RedisStreamsBus(url, prefix=prefix, max_len=max_len)
    raise ValueError(f"unsupported bus URL scheme: {url.split('://')[0]!r} (use memory:// or redis://)")
