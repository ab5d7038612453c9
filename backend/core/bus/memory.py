"""In-process bus for the embedded default: one process, no external server.

Entries are kept as their wire JSON, exactly as Redis would hold them, so both implementations
exercise the same encoding and the contract tests mean the same thing for each.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from backend.core.bus import FROM_START, ONLY_NEW, parse_id
from backend.core.events import Envelope, Event, UnknownEvent

log = logging.getLogger("lianluo.bus")


class _Stream:
    def __init__(self) -> None:
        self.ids: list[tuple[int, int]] = []
        self.raw: list[str] = []
        self.changed = asyncio.Condition()


class MemoryBus:
    def __init__(self, *, max_len: int = 1_000_000) -> None:
        self._streams: dict[str, _Stream] = {}
        self._max_len = max_len
        self._last: tuple[int, int] = (0, 0)
        self._closed = False

    def _stream(self, name: str) -> _Stream:
        s = self._streams.get(name)
        if s is None:
            s = self._streams[name] = _Stream()
        return s

    def _next_id(self) -> tuple[int, int]:
        ms = int(time.time() * 1000)
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last

    async def publish(self, event: Event, *, node: str | None = None, at: datetime | None = None) -> Envelope:
        at = at or datetime.now(UTC)
        raw = Envelope.encode(event, at, node)
        stream = self._stream(event.stream)
        ms, seq = self._next_id()
        stream.ids.append((ms, seq))
        stream.raw.append(raw)
        if len(stream.ids) > self._max_len * 1.1:  # trim in batches, like XADD MAXLEN ~
            cut = len(stream.ids) - self._max_len
            del stream.ids[:cut], stream.raw[:cut]
        async with stream.changed:
            stream.changed.notify_all()
        return Envelope(f"{ms}-{seq}", event.stream, event, at, node)

    def _after(self, stream: _Stream, after: str) -> int:
        if after == ONLY_NEW:
            return len(stream.ids)
        return bisect.bisect_right(stream.ids, parse_id(after))

    def _decode(self, name: str, stream: _Stream, start: int, stop: int) -> list[Envelope]:
        out = []
        for (ms, seq), raw in zip(stream.ids[start:stop], stream.raw[start:stop], strict=True):
            try:
                out.append(Envelope.decode(f"{ms}-{seq}", name, raw))
            except UnknownEvent as exc:
                log.warning("skipping unknown event %s-%s on %s: %s", ms, seq, name, exc)
        return out

    async def read(self, stream: str, *, after: str = FROM_START, limit: int = 1000) -> list[Envelope]:
        s = self._stream(stream)
        start = self._after(s, after)
        # A run of unreadable entries must not look like the end of the stream: read past it.
        while start < len(s.ids):
            out = self._decode(stream, s, start, start + limit)
            if out:
                return out
            start += limit
        return []

    async def subscribe(self, stream: str, *, after: str = ONLY_NEW) -> AsyncIterator[Envelope]:
        s = self._stream(stream)
        if after == ONLY_NEW:
            cursor = s.ids[-1] if s.ids else (0, 0)
        else:
            cursor = parse_id(after)
        while not self._closed:
            start = bisect.bisect_right(s.ids, cursor)
            if start < len(s.ids):
                batch = self._decode(stream, s, start, start + 500)
                cursor = s.ids[min(start + 500, len(s.ids)) - 1]
                for env in batch:
                    yield env
                continue
            async with s.changed:
                if bisect.bisect_right(s.ids, cursor) >= len(s.ids) and not self._closed:
                    await s.changed.wait()

    async def last_id(self, stream: str) -> str | None:
        s = self._stream(stream)
        if not s.ids:
            return None
        ms, seq = s.ids[-1]
        return f"{ms}-{seq}"

    async def ping(self) -> None:
        if self._closed:
            raise ConnectionError("bus closed")

    async def close(self) -> None:
        self._closed = True
        for s in self._streams.values():
            async with s.changed:
                s.changed.notify_all()
