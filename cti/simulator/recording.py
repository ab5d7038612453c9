"""MixMonitor: a real (small) WAV file per recorded channel, 8 kHz mono, as long as the recording ran.

Started by the AMI action or by the production dialplan's ``MixMonitor(call-${UNIQUEID}.wav,b)``; the
file is written when the recording stops: StopMixMonitor, or the channel hanging up (as on Asterisk,
a hangup ends the recording without a MixMonitorStop event). With option ``b`` only bridged time is
recorded, so the length is the talk time. Lengths are simulated seconds, capped to keep files small.
"""

from __future__ import annotations

import asyncio
import math
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

from cti.simulator.pbx import Channel, Pbx

RATE = 8000
MAX_SECONDS = 600.0  # a demo running for hours must not fill the disk
# One second of a quiet 425 Hz tone (425 whole periods, so seconds join without a click).
_SECOND = b"".join(struct.pack("<h", int(1000 * math.sin(2 * math.pi * 425 * n / RATE))) for n in range(RATE))


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(RATE * min(MAX_SECONDS, max(0.0, seconds)))
    whole, rest = divmod(frames, RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(_SECOND * whole + _SECOND[:rest * 2])


@dataclass
class _Recording:
    path: Path
    started: float
    bridged_only: bool
    bridged_at_start: float


class Recorder:
    def __init__(self, folder: Path, pbx: Pbx) -> None:
        self.folder, self.pbx = Path(folder), pbx
        self._active: dict[str, _Recording] = {}
        self._writing: set[asyncio.Task[Path | None]] = set()
        pbx.hangup_hooks.append(self._hung_up)

    def mix_monitor(self, ch: Channel, file: str | None, options: str = "") -> Path:
        """What MixMonitor() does on ``ch``: remember the file, VarSet MIXMONITOR_FILENAME (full path),
        MixMonitorStart."""
        name = file or f"{ch.uniqueid}.wav"
        path = (Path(name) if Path(name).is_absolute() else self.folder / name).resolve()
        now = self.pbx.clock.now()
        self._active[ch.uniqueid] = _Recording(path, now, "b" in options, ch.bridged_seconds(now))
        self.pbx.set_var(ch, "MIXMONITOR_FILENAME", str(path))
        self.pbx.ch_event("MixMonitorStart", ch)
        return path

    def recording(self, ch: Channel) -> bool:
        return ch.uniqueid in self._active

    async def stop(self, ch: Channel) -> Path | None:
        rec = self._active.pop(ch.uniqueid, None)
        if rec is None:
            return None
        now = self.pbx.clock.now()
        seconds = ch.bridged_seconds(now) - rec.bridged_at_start if rec.bridged_only else now - rec.started
        await asyncio.to_thread(write_wav, rec.path, seconds)  # file work off the event loop
        return rec.path

    def _hung_up(self, ch: Channel) -> None:
        if ch.uniqueid in self._active:
            task = asyncio.get_running_loop().create_task(self.stop(ch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def flush(self) -> None:
        """Wait for the files of recordings that ended with a hangup."""
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    def reset(self) -> None:
        """A restart: recordings in progress are lost with their calls."""
        self._active.clear()
