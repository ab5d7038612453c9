"""Replay mode: serve a recorded ``.ami.jsonl`` verbatim to each client that connects — the rx chunks
as they were cut, optionally with the recorded timing divided by ``speed`` (0: as fast as possible)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path


class ReplayServer:
    def __init__(self, jsonl: Path, *, host: str = "127.0.0.1", port: int = 0, speed: float = 0.0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the replay server listens on loopback only")
        rows = [json.loads(line) for line in Path(jsonl).read_text().splitlines() if line.strip()]
        self.chunks = [(r["t"], r["data"].encode("utf-8")) for r in rows if r["dir"] == "rx"]
        self.closes = any(r["dir"] == "rx-eof" for r in rows)
        self.host, self.port, self.speed = host, port, speed
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = asyncio.get_running_loop().time()
        try:
            for t, data in self.chunks:
                if self.speed > 0:
                    await asyncio.sleep(max(0.0, start + t / self.speed - asyncio.get_running_loop().time()))
                writer.write(data)
                await writer.drain()  # one write per recorded chunk keeps the recorded fragmentation
            if not self.closes:
                await reader.read()  # keep the line open until the client leaves, as the live server did
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
