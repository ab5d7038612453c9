"""A simulated Asterisk on the FastAGI side, for the AGI server tests and the bench.

It connects to the server as Asterisk's ``AGI(agi://…)`` does, sends an env block and answers the commands
it reads. ``load_trace`` turns a recorded ``<scenario>.agi.txt`` (real Asterisk 22, see the README in
``tests/data/asterisk-traces``) into the env bytes and, per command the recording server sent, the lines
Asterisk answered, so a test can replay Asterisk's side byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

TRACES_DIR = Path(__file__).parent / "data" / "asterisk-traces"


@dataclass(frozen=True)
class AgiTrace:
    env: bytes  # the env block as Asterisk sent it, empty line included
    exchanges: list[tuple[str, list[str]]]  # (command the server sent, lines Asterisk sent after it)


def load_trace(scenario: str) -> AgiTrace:
    env: list[str] = []
    exchanges: list[tuple[str, list[str]]] = []
    for line in (TRACES_DIR / f"{scenario}.agi.txt").read_text().splitlines():
        if line.startswith("AGI> "):
            exchanges.append((line[5:], []))
        elif line.startswith("AST> ") or line == "AST>":
            (exchanges[-1][1] if exchanges else env).append(line[5:])
    return AgiTrace(("\n".join(env) + "\n").encode(), exchanges)


def env_block(trace: AgiTrace, **overrides: str) -> bytes:
    """The trace's env with some ``agi_*`` values replaced (e.g. ``agi_uniqueid``)."""
    lines = trace.env.decode().split("\n")
    for i, line in enumerate(lines):
        key = line.partition(":")[0]
        if key in overrides:
            lines[i] = f"{key}: {overrides[key]}"
    return "\n".join(lines).encode()


class AsteriskPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> AsteriskPeer:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def reply(self, *lines: str) -> None:
        await self.send("".join(line + "\n" for line in lines))

    async def command(self, timeout: float = 2.0) -> str | None:
        """The next command line the server wrote, without its newline; None once it closed."""
        async with asyncio.timeout(timeout):
            raw = await self.reader.readline()
        return raw.decode().removesuffix("\n") if raw.endswith(b"\n") else None

    async def closed_by_server(self, timeout: float = 1.0) -> bool:
        """Whether the server closes the connection within ``timeout`` (any lines before that are dropped)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def replay(peer: AsteriskPeer, trace: AgiTrace) -> list[str]:
    """Play Asterisk's side of ``trace``; the command lines the server wrote (stops at the first mismatch)."""
    await peer.send(trace.env)
    written: list[str] = []
    for expected, answer in trace.exchanges:
        line = await peer.command()
        if line is None:
            break
        written.append(line)
        if line != expected:
            break
        await peer.reply(*answer)
    return written
