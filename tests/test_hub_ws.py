"""The websocket: token auth, events for this user only, replay after a reconnect, close on logout."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed

from backend.app import create_app
from backend.auth.permissions import Role
from backend.core.context import AppContext
from tests.conftest import PASSWORD, Stack


@pytest.fixture
async def server(stack: Stack) -> AsyncIterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = stack.ctx.settings.model_copy(update={"ws_token_check_seconds": 0.2})
    ctx = AppContext(settings=settings, db=stack.ctx.db, bus=stack.ctx.bus, clock=stack.ctx.clock)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx, own_context=False), host="127.0.0.1", port=port,
                                           log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


async def _login(stack: Stack, username: str) -> str:
    r = await stack.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    return r.json()["token"]


async def _next_frame(ws, timeout: float = 5.0) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_given_no_or_bad_token_when_connecting_then_closed_unauthenticated(stack: Stack, server: str) -> None:
    for url in (f"ws://{server}/ws", f"ws://{server}/ws?token=garbage"):
        with pytest.raises(ConnectionClosed) as exc:
            async with websockets.connect(url) as ws:
                await ws.recv()
        assert exc.value.rcvd.code == 4401


async def test_given_token_when_events_arrive_then_only_the_users_own_are_pushed(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_me", Role.agent, stack.orgs["outlet"])
    other = await stack.add_user("ws_other", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        await asyncio.sleep(0.2)
        await _login(stack, other)  # not for me
        await _login(stack, me)  # my own second login: for me
        frame = await _next_frame(ws)
        assert frame["type"] == "auth.logged_in" and frame["data"]["username"] == me
        assert frame["stream"] == "security" and frame["id"]
        assert "user_ids" not in frame["data"] and "org_path" not in frame["data"]  # routing stays server-side
        with pytest.raises(TimeoutError):
            await _next_frame(ws, timeout=0.3)


async def test_given_client_that_reconnects_with_last_id_then_it_gets_what_it_missed_in_order(
    stack: Stack, server: str
) -> None:
    me = await stack.add_user("ws_resume", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        await asyncio.sleep(0.2)
        await _login(stack, me)
        last_seen = (await _next_frame(ws))["id"]
    missed = [await _login(stack, me) for _ in range(3)]  # while disconnected
    async with websockets.connect(f"ws://{server}/ws?token={missed[-1]}&after_security={last_seen}") as ws:
        frames = [await _next_frame(ws) for _ in range(3)]
        ids = [f["id"] for f in frames]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and last_seen not in ids
        assert all(f["type"] == "auth.logged_in" for f in frames)
        with pytest.raises(TimeoutError):
            await _next_frame(ws, timeout=0.3)  # no duplicates


async def test_given_open_socket_when_user_logs_out_then_the_socket_is_closed(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_logout", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws?token={token}") as ws:
        r = await stack.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 204
        with pytest.raises(ConnectionClosed) as exc:
            for _ in range(10):
                await _next_frame(ws)
        assert exc.value.rcvd.code == 4401


async def test_given_bad_resume_id_when_connecting_then_closed_bad_request(stack: Stack, server: str) -> None:
    token = await _login(stack, stack.users[(Role.agent, "outlet")])
    with pytest.raises(ConnectionClosed) as exc:
        async with websockets.connect(f"ws://{server}/ws?token={token}&after_security=yesterday") as ws:
            await ws.recv()
    assert exc.value.rcvd.code == 4400


async def test_given_session_cookie_when_connecting_then_authenticated_like_a_browser(stack: Stack, server: str) -> None:
    me = await stack.add_user("ws_cookie", Role.agent, stack.orgs["outlet"])
    token = await _login(stack, me)
    async with websockets.connect(f"ws://{server}/ws", additional_headers={"Cookie": f"lianluo_token={token}"}) as ws:
        await asyncio.sleep(0.2)
        await _login(stack, me)
        assert (await _next_frame(ws))["data"]["username"] == me
