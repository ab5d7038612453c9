"""What a running process holds: settings, database, bus, clock. Built once, passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from backend.core.bus import Bus, create_bus
from backend.core.clock import Clock, SystemClock
from backend.core.db import Database
from backend.core.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    bus: Bus
    clock: Clock = field(default_factory=SystemClock)
    http: httpx.AsyncClient | None = None  # outbound calls (insurer's directory API)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> AppContext:
        return cls(
            settings=settings,
            db=Database(settings.effective_database_url),
            bus=create_bus(settings.bus_url, prefix=settings.bus_stream_prefix, max_len=settings.bus_max_len),
            clock=clock or SystemClock(),
        )

    def outbound_http(self) -> httpx.AsyncClient:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=self.settings.directory_http_timeout)
        return self.http

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        await self.bus.close()
        await self.db.dispose()
