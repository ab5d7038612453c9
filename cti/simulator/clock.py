"""Simulated time: every wait of the simulator goes through one speed factor.

Durations handed to ``sleep`` are simulated seconds; ``now`` is a simulated epoch that runs ``speed``
times faster than the wall clock from the moment the simulator started, so Uptime, Uniqueids and
call durations read like a real PBX's while a test runs fifty times faster.
"""

from __future__ import annotations

import asyncio
import time


class SimClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self.booted = self.now()

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def reboot(self) -> None:
        self.booted = self.now()

    @property
    def uptime(self) -> int:
        return int(self.now() - self.booted)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def real(self, seconds: float) -> float:
        """Wall-clock seconds of a simulated duration (for timeouts of asyncio.wait_for)."""
        return max(0.0, seconds) / self.speed
