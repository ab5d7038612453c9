"""``/ws``: one websocket per console tab.

The client authenticates like any API call (the session cookie, or ``?token=`` where a browser
cannot set headers) and may resume with ``?after_<stream>=<last event id>``; it then receives every
event addressed to its user, oldest first, as ``{"id", "stream", "type", "v", "at", "node", "data"}``.
The session is a few small tasks — transmit, receive, token check — run together; when one ends the
others are cancelled and the reason becomes the close code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from backend.auth.deps import websocket_principal
from backend.auth.principal import Principal
from backend.core.bus import ONLY_NEW, parse_id
from backend.core.context import AppContext
from backend.core.events import Envelope
from backend.core.problems import Unauthenticated

log = logging.getLogger("lianluo.hub")
router = APIRouter()

STREAMS = ("security",)

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _frame(env: Envelope) -> str:
    return json.dumps({"id": env.id, "stream": env.stream, "type": env.event.type, "v": env.event.version,
                       "at": env.occurred_at.isoformat(), "node": env.node,
                       "data": env.event.model_dump(mode="json", exclude={"user_ids", "org_path"})},
                      ensure_ascii=False)


async def _principal(ctx: AppContext, websocket: WebSocket) -> Principal:
    async with ctx.db.session() as session:
        return await websocket_principal(websocket, session)


async def _transmit(ctx: AppContext, websocket: WebSocket, principal: Principal, stream: str, after: str) -> None:
    async for env in ctx.bus.subscribe(stream, after=after):
        if env.event.is_for(principal.user_id, principal.scope.path):
            await websocket.send_text(_frame(env))


async def _receive(websocket: WebSocket) -> None:
    # Clients may send anything (e.g. keep-alives); the hub only listens for the close.
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Closed(CLOSE_NORMAL, "client closed")


async def _check_token(ctx: AppContext, websocket: WebSocket) -> None:
    while True:
        await asyncio.sleep(ctx.settings.ws_token_check_seconds)
        try:
            await _principal(ctx, websocket)
        except Unauthenticated:
            raise _Closed(CLOSE_UNAUTHENTICATED, "session ended") from None


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    ctx: AppContext = websocket.app.state.ctx
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
    tasks = [asyncio.create_task(_transmit(ctx, websocket, principal, s, c)) for s, c in cursors.items()]
    tasks += [asyncio.create_task(_receive(websocket)), asyncio.create_task(_check_token(ctx, websocket))]
    code, reason = CLOSE_NORMAL, ""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        exc = next(iter(done)).exception()
        if isinstance(exc, _Closed):
            code, reason = exc.code, exc.reason
        elif isinstance(exc, WebSocketDisconnect):
            return
        elif exc is not None:
            log.error("websocket session of %s failed", principal.username, exc_info=exc)
            code, reason = 1011, "internal error"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if code != CLOSE_NORMAL or reason != "client closed":
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)
