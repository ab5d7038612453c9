"""Following one node's events on a shared test bus without re-reading the whole stream each time.

The session-wide stacks carry every earlier test's events; a poll that decodes the stream from the
start grows with the suite and, under load, starves the simulated PBX it is waiting for."""

from __future__ import annotations

from backend.core.bus import FROM_START, Bus
from backend.core.events import Event


class NodeEvents:
    def __init__(self, bus: Bus, stream: str, node: str) -> None:
        self.bus, self.stream, self.node = bus, stream, node
        self.cursor: str | None = None
        self.seen: list[Event] = []

    async def start(self) -> NodeEvents:
        """Only what is published from now on."""
        self.cursor = await self.bus.last_id(self.stream) or FROM_START
        return self

    async def __call__(self) -> list[Event]:
        """Every event of the node so far, in order (reads only what is new since the last call)."""
        assert self.cursor is not None, "start() first"
        while batch := await self.bus.read(self.stream, after=self.cursor, limit=1000):
            self.cursor = batch[-1].id
            self.seen.extend(e.event for e in batch if e.node == self.node)
        return self.seen
