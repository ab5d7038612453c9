"""The AMI listener: sessions that greet, log in, take actions and receive events like Asterisk 22's.

Loopback only. Each session has its own writer; events reach every logged-in session with events on,
in the order the PBX emits them. Action handlers live in ``actions``. ``AmiServer.on_sent``, when set
(benchmarks), is told the wall-clock time each event was handed to the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti.ami.frames import AmiMessage, FrameDecoder
from cti.simulator.wire import BANNER, Fields, encode, response

if TYPE_CHECKING:
    from cti.simulator.simulator import PbxSimulator

log = logging.getLogger("lianluo.simulator.ami")


class Headers:
    """An action's headers, names case-insensitive (``action: ping`` works), repeats kept."""

    def __init__(self, message: AmiMessage) -> None:
        self.pairs = [(k.lower(), v) for k, v in message.fields.items()]
        for k, values in message.repeated.items():
            self.pairs.extend((k.lower(), v) for v in values)

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((v for k, v in self.pairs if k == name), default)

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name.lower()]


def tv(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class AmiConnection:
    def __init__(self, sim: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sim, self.reader, self.writer = sim, reader, writer
        self.authed = False
        self.events_on = True
        self.closing = False
        self.session_id = f"0x{id(self) & 0xffffffffffff:x}"
        self.started = sim.clock.now()
        local, remote = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
        self.local = f"IPV4/TCP/{local[0]}/{local[1]}" if local else "IPV4/TCP/127.0.0.1/5038"
        self.remote = f"IPV4/TCP/{remote[0]}/{remote[1]}" if remote else "IPV4/TCP/127.0.0.1/0"

    def send(self, fields: Fields) -> None:
        if not self.closing and not self.writer.is_closing():
            self.writer.write(encode(fields))

    def on_event(self, name: str, fields: Fields) -> None:
        if self.authed and self.events_on:
            self.send(fields)
            sent = self.sim.server.on_sent
            if sent is not None:
                sent(name, fields, time.time())

    def security_event(self, name: str, severity: str, *extra: tuple[str, str], tail: Fields = ()) -> None:  # type: ignore[assignment]
        now = self.sim.clock.now()
        self.send([("Event", name), ("Privilege", "security,all"), ("EventTV", tv(now)), ("Severity", severity),
                   ("Service", "AMI"), ("EventVersion", "1"), *extra, ("SessionTV", tv(self.started)), *tail])

    async def serve(self) -> None:
        from cti.simulator.actions import dispatch
        self.writer.write(BANNER)  # alone in its own write, as Asterisk does
        await self.writer.drain()
        decoder = FrameDecoder(expect_banner=False)
        self.sim.pbx.listeners.append(self.on_event)
        try:
            while not self.closing:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                for message in decoder.feed(chunk):
                    await dispatch(self, Headers(message))
                    if self.closing:
                        break
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self.sim.pbx.listeners.remove(self.on_event)
            self.close()

    def close(self) -> None:
        self.closing = True
        if not self.writer.is_closing():
            self.writer.close()

    def reply(self, headers: Headers, status: str = "Success", *fields: tuple[str, str]) -> None:
        self.send(response(headers.get("ActionID"), status, *fields))

    def reply_list(self, headers: Headers, message: str, items: list[Fields], complete: str,
                   *extra: tuple[str, str]) -> None:
        """A list action's answer: start, one event per item (each carrying the ActionID), Complete."""
        self.reply(headers, "Success", ("EventList", "start"), ("Message", message))
        for item in items:
            self.send(item)
        self.send([("Event", complete), ("ActionID", headers.get("ActionID") or ""), ("EventList", "Complete"),
                   ("ListItems", str(len(items))), *extra])


class AmiServer:
    """Accepts connections; during a restart it first drops them without a banner, then refuses them."""

    def __init__(self, sim: PbxSimulator, host: str, port: int) -> None:
        self.sim, self.host, self.port = sim, host, port
        self.connections: set[AmiConnection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropping = False
        # Measuring only (None otherwise, so the event path pays one attribute check): called with each
        # event's name, its fields and ``time.time()`` right after it was written to a session's socket.
        self.on_sent: Callable[[str, Fields, float], None] | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.dropping:  # the dying instance still accepts, but says nothing
            writer.close()
            return
        conn = AmiConnection(self.sim, reader, writer)
        self.connections.add(conn)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)

    async def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 0.5)
            self._server = None

    def broadcast_logged_in(self, fields: Fields) -> None:
        for conn in list(self.connections):
            if conn.authed:
                conn.send(fields)

    async def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()

    async def stop(self) -> None:
        await self.stop_listening()
        await self.close_all()


Handler = Callable[[AmiConnection, Headers], Awaitable[None]]
