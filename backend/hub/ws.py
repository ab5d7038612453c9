"""``/ws``: the console's one websocket, one per console tab.

Connecting: the client authenticates like any API call (the session cookie, or ``?token=`` where a
browser cannot set headers). It receives, oldest first per stream, the events of the streams
``calls``, ``agents``, ``commands``, ``tickets`` and ``security`` that its user may see (the rule is in
``audience.py``: its own calls, agent state and command results; a supervisor's whole org subtree and
the calls joining or leaving the queues its agents serve; ticket notices addressed to it or its subtree), each as
``{"id", "stream", "type", "v", "at", "node", "data"}``.

Control frames: ``{"type": "hello", "after": {stream: id}}`` first, the position from which each stream
is delivered (the ids to resume from if nothing else arrives); ``{"type": "ping"}`` (below). Event
frames are told apart by their ``id``.

Resuming: a client that reconnects sends, per stream, the id of the last event it saw:
``?after_calls=<id>&after_agents=<id>&…``. It first gets every event of that stream it missed, read from
the bus in order, then the live events without repeats. A stream without ``after_`` starts with what
happens from now on. Because the hub reads from the bus (Redis Streams in production), any ``serve``
process can resume any client: a process holds nothing but caches (see ``fanout.py``, ``directory.py``).

Heartbeat: the server sends ``{"type": "ping"}`` every ``ping_seconds`` (20 s); the client answers
``{"type": "pong"}`` (any message counts). A client heard from not at all for two intervals is closed
(4408); a client that hears no ping for two intervals should consider the link dead and reconnect.

Close codes: 4400 bad ``after_`` id, 4401 not (or no longer) logged in (rechecked every
``ws_token_check_seconds``), 4408 heartbeat timeout, 4429 too far behind (resume from the last id),
1013 bus unreachable (reconnect later), 1011 internal error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

from backend.auth.deps import websocket_principal
from backend.auth.principal import Principal
from backend.core.bus import ONLY_NEW, parse_id
from backend.core.context import AppContext
from backend.core.problems import Unauthenticated
from backend.hub.audience import Router
from backend.hub.directory import AgentDirectory
from backend.hub.fanout import Fanout
from backend.hub.session import (
    CLOSE_BAD_REQUEST,
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    Closed,
    Session,
)

log = logging.getLogger("lianluo.hub")
router = APIRouter()

STREAMS = ("calls", "agents", "commands", "tickets", "security")


@dataclass(frozen=True)
class HubConfig:
    ping_seconds: float = 20.0
    token_check_seconds: float = 30.0
    queue_limit: int = 5000  # frames waiting for one client before it is told to resume
    directory_refresh_seconds: float = 60.0
    call_lookback_seconds: float = 300.0  # how far back a starting hub reads which phones calls rang
    command_lookback_seconds: float = 60.0
    membership_lookback_seconds: float = 43_200.0  # how far back it reads which queues agents are in (a shift)


class Hub:
    """The hub of one ``serve`` process: the routing caches and the per-stream followers."""

    def __init__(self, ctx: AppContext, config: HubConfig | None = None) -> None:
        self.ctx = ctx
        self.config = config or HubConfig(token_check_seconds=ctx.settings.ws_token_check_seconds)
        self.directory = AgentDirectory(ctx.db, ctx.settings.cti_org_code,
                                        refresh_seconds=self.config.directory_refresh_seconds)
        self.fanout = Fanout(ctx.bus, Router(self.directory), STREAMS, queue_limit=self.config.queue_limit,
                             call_lookback_seconds=self.config.call_lookback_seconds,
                             command_lookback_seconds=self.config.command_lookback_seconds,
                             membership_lookback_seconds=self.config.membership_lookback_seconds)


def hub_of(app: FastAPI) -> Hub:
    hub = getattr(app.state, "hub", None)
    if hub is None:
        hub = app.state.hub = Hub(app.state.ctx)
        _settle_heap()
    return hub


def _settle_heap() -> None:
    """The first console connects: the process is built. What is alive now (modules, the app, its caches) lives
    as long as the process, so it is frozen out of the cyclic collector's full passes. Those walk every object
    each time and stop the loop meanwhile — and every screen pop on it: with a thousand consoles a full pass
    took 0.3–0.6 s on a busy 2-core host, this heap about half of it (``serve_full_gc_ms`` in
    bench/screenpop_e2e.py). Once per process; garbage is collected first so none of it is kept for good."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


async def _principal(ctx: AppContext, websocket: WebSocket) -> Principal:
    async with ctx.db.session() as session:
        return await websocket_principal(websocket, session)


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    ctx: AppContext = websocket.app.state.ctx
    hub = hub_of(websocket.app)
    # Accept first, then close with a code: a browser cannot read why a handshake was refused.
    await websocket.accept()
    try:
        principal = await _principal(ctx, websocket)
    except Unauthenticated:
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="unauthenticated")
        return
    cursors = {s: websocket.query_params.get(f"after_{s}", ONLY_NEW) for s in STREAMS}
    try:
        for cursor in cursors.values():
            if cursor != ONLY_NEW:
                parse_id(cursor)
    except ValueError:
        await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad event id")
        return
    session = Session(websocket, principal, hub.fanout, cursors, hub.config.ping_seconds,
                      hub.config.token_check_seconds)
    try:
        sub = await hub.fanout.attach(session.viewer)
    except (ConnectionError, OSError):
        log.warning("websocket of %s refused: bus unavailable", principal.username, exc_info=True)
        await websocket.close(code=CLOSE_TRY_AGAIN, reason="bus unavailable")
        return
    tasks = [asyncio.create_task(session.transmit(sub)), asyncio.create_task(session.receive()),
             asyncio.create_task(session.ping()),
             asyncio.create_task(session.check_token(lambda: _principal(ctx, websocket)))]
    code, reason = CLOSE_NORMAL, ""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        exc = next(iter(done)).exception()
        if isinstance(exc, Closed):
            code, reason = exc.code, exc.reason
        elif isinstance(exc, WebSocketDisconnect):
            return
        elif isinstance(exc, (ConnectionError, OSError)):
            log.warning("websocket session of %s ended: bus unavailable (%s)", principal.username, exc)
            code, reason = CLOSE_TRY_AGAIN, "bus unavailable"
        elif exc is not None:
            log.error("websocket session of %s failed", principal.username, exc_info=exc)
            code, reason = CLOSE_INTERNAL, "internal error"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.fanout.detach(sub)
    if code != CLOSE_NORMAL or reason != "client closed":
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)
