"""Test helpers for the PBX simulator: a recording AMI client writing the traces' jsonl format and a
FastAGI server that plays the AGI side of a recorded trace. The replay pipeline over a recording is
``tests.cti_replay.replay_rows``, the same one the golden files come from."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

TRACES = Path(__file__).parent / "data" / "asterisk-traces"


async def exchange(port: int, actions: list[bytes], *, wait: float = 0.15) -> bytes:
    """Send ``actions`` one by one (``wait`` seconds apart) on a new AMI connection; every byte received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = await reader.read(65536)  # the banner, alone
    for action in actions:
        writer.write(action)
        await asyncio.sleep(wait)
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), wait):
            got += chunk
    except TimeoutError:
        pass
    writer.close()
    return got


def action(name: str, **headers: str) -> bytes:
    """An AMI action as a client writes it."""
    return (f"Action: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def trace_rows(scenario: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (TRACES / f"{scenario}.ami.jsonl").read_text().splitlines()]


async def record_session(port: int, scenario: str, speed: float, *, tail: float = 3.0) -> list[dict[str, Any]]:
    """Connect like the trace's recording client, send its tx chunks at their recorded (scaled) times,
    and record every rx chunk with its time in simulated seconds."""
    rows = trace_rows(scenario)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    out: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            data = await reader.read(65536)
            t = round((time.monotonic() - t0) * speed, 4)
            if not data:
                out.append({"t": t, "dir": "rx-eof", "data": ""})
                return
            out.append({"t": t, "dir": "rx", "data": data.decode("utf-8")})

    reading = asyncio.create_task(read())
    for row in rows:
        if row["dir"] != "tx":
            continue
        delay = row["t"] / speed - (time.monotonic() - t0)
        if delay > 0:
            await asyncio.sleep(delay)
        writer.write(row["data"].encode())
        out.append({"t": round((time.monotonic() - t0) * speed, 4), "dir": "tx", "data": row["data"]})
    end = max(r["t"] for r in rows) + tail
    try:
        await asyncio.wait_for(asyncio.shield(reading), max(0.0, end / speed - (time.monotonic() - t0)))
    except TimeoutError:
        pass
    reading.cancel()
    writer.close()
    return out


class TraceAgiServer:
    """A FastAGI server that sends the ``AGI>`` lines of a recorded exchange, one per reply, and keeps
    every line Asterisk (here: the simulator) sent, to compare with the trace's ``AST>`` lines."""

    def __init__(self, scenario: str) -> None:
        lines = (TRACES / f"{scenario}.agi.txt").read_text().splitlines()
        self.commands = [line[5:] for line in lines if line.startswith("AGI> ")]
        self.expected = [line[5:] for line in lines if line.startswith("AST> ")]
        self.received: list[str] = []
        self.done = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # the env block, up to its empty line
            line = (await reader.readline()).decode().rstrip("\n")
            self.received.append(line)
            if not line:
                break
        for command in self.commands:
            writer.write(command.encode() + b"\n")
            await writer.drain()
            self.received.append((await reader.readline()).decode().rstrip("\n"))
        writer.write_eof()  # half-close, as the recording server did; then log what else comes
        while line := await reader.readline():
            self.received.append(line.decode().rstrip("\n"))
        writer.close()
        self.done.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
