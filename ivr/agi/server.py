"""The FastAGI listener: one asyncio task per call, reading the env then running the handler on a session.

A bad env is logged as one WARNING line naming the peer and closed; a caller who hangs up or a timed-out
command ends the call quietly; any other error in the handler is logged with its traceback. In every case the
socket is closed and the server goes on serving: one broken call never affects the others. There are no
threads and no per-call buffers beyond the StreamReader's limit, so hundreds of calls share one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable

from ivr.agi.protocol import ENV_TIMEOUT, MAX_ENV_LINES, MAX_LINE, AgiProtocolError, EnvIncomplete, read_env
from ivr.agi.session import COMMAND_TIMEOUT, MEDIA_TIMEOUT, AgiSession
from ivr.flows.channel import CallerGone, ChannelTimeout

log = logging.getLogger(__name__)

Handler = Callable[[AgiSession], Awaitable[None] | None]
ReactionObserver = Callable[[float], None]

CLOSE_TIMEOUT = 1.0  # waiting for the close to reach the kernel must not hold a finished call's task


class AgiServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 4573, *,
                 command_timeout: float = COMMAND_TIMEOUT, media_timeout: float = MEDIA_TIMEOUT,
                 env_timeout: float = ENV_TIMEOUT, max_line: int = MAX_LINE, max_env_lines: int = MAX_ENV_LINES,
                 backlog: int = 1024, on_reaction: ReactionObserver | None = None) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.command_timeout = command_timeout
        self.media_timeout = media_timeout
        self.env_timeout = env_timeout
        self.max_line = max_line
        self.max_env_lines = max_env_lines
        self.backlog = backlog
        self.on_reaction = on_reaction
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> int:
        """Connections being served (env being read or handler running)."""
        return len(self._calls)

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()

        def connection() -> asyncio.StreamReaderProtocol:  # what asyncio.start_server does, with our reader
            return asyncio.StreamReaderProtocol(ArrivalStampedReader(limit=self.max_line, loop=loop),
                                                self._serve, loop=loop)

        self._server = await loop.create_server(connection, self.host, self.port, backlog=self.backlog)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("FastAGI listening on %s:%d", self.host, self.port)
        return self.port

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let running calls finish within ``grace`` seconds, then cancel the rest."""
        if self._server is not None:
            self._server.close()
        calls = set(self._calls)
        if calls:
            _done, pending = await asyncio.wait(calls, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.info("FastAGI stopping: cancelled %d call(s) still running after %g s", len(pending), grace)
                await asyncio.gather(*pending, return_exceptions=True)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        peer = _peer(writer)
        try:
            await self._call(reader, writer, peer)
        except asyncio.CancelledError:
            # Not re-raised: the call's task ends here anyway, and asyncio's stream callback (3.11) logs a
            # cancelled connection task as an error.
            log.info("FastAGI %s: call cancelled (server stopping)", peer)
        finally:
            self._calls.discard(task)
            await _close(writer)

    async def _call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        try:
            env = await read_env(reader, max_lines=self.max_env_lines, timeout=self.env_timeout)
        except EnvIncomplete as exc:
            log.warning("FastAGI %s: incomplete env: %s; closing", peer, exc)
            return
        except AgiProtocolError as exc:
            log.warning("FastAGI %s: bad env: %s; closing", peer, exc)
            return
        except (ConnectionError, OSError) as exc:
            log.info("FastAGI %s: connection lost while reading the env: %s", peer, exc)
            return
        session = AgiSession(reader, writer, env, command_timeout=self.command_timeout,
                             media_timeout=self.media_timeout, on_reaction=self.on_reaction)
        where = f"{peer} {session.script} {session.channel or '?'}"
        try:
            result = self.handler(session)
            if inspect.isawaitable(result):  # a plain function is a valid (if odd) handler too
                await result
        except CallerGone as exc:
            log.info("FastAGI %s: caller gone: %s", where, exc)
        except ChannelTimeout as exc:
            log.info("FastAGI %s: %s", where, exc)
        except ConnectionError as exc:
            log.info("FastAGI %s: connection lost: %s", where, exc)
        except AgiProtocolError as exc:
            log.warning("FastAGI %s: protocol error: %s; closing", where, exc)
        except Exception:
            log.exception("FastAGI %s: handler failed; closing the call", where)


class ArrivalStampedReader(asyncio.StreamReader):
    """A StreamReader that notes when bytes last came off the socket: the earliest moment the process sees
    a caller's digits, so the IVR's reaction time includes any wait for the event loop, not only our code."""

    arrived_at = 0.0

    def feed_data(self, data: bytes) -> None:
        self.arrived_at = time.perf_counter()
        super().feed_data(data)


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close our side. Asterisk answers with a ``HANGUP`` line or a reset; both are fine to ignore."""
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await writer.wait_closed()
