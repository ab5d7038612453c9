"""The console websocket hub under load: N agent connections to one ``serve`` process, calls ringing them.

The server runs in its own process (uvicorn on loopback, the real app, SQLite, the in-process bus or
Redis Streams with ``--bus-url``), so its memory is its own: memory per connection is the growth of its
resident set from one connection to N, divided by N−1. In that process a publisher puts ``AgentRinging``
events on the bus at ``--rate`` calls per second, each for the phone of one of the N agents (users that
exist, with their phones). Latency is from the event's publish time (its ``at``, set by the bus on
publish) to the frame arriving at the agent's client, in the client process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvicorn
import websockets
from sqlalchemy import delete, select

from backend.app import create_app
from backend.auth import tokens
from backend.auth.models import AuthSession, User, UserRole
from backend.auth.passwords import hash_password
from backend.auth.permissions import Role
from backend.core import runtime
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.events import AgentRinging
from backend.core.settings import Settings
from backend.migrations import upgrade_async
from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.seed.builder import is_seeded, seed
from bench.common import emit, latency_summary

CACHE = Path(tempfile.gettempdir()) / "lianluo-bench"
SECRET = "bench-hub-signing-key-0123456789abcdef-xyz"
PHONE_PREFIX = "PJSIP/hb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(db_url: str, bus_url: str, prefix: str) -> Settings:
    return Settings(database_url=db_url, bus_url=bus_url, bus_stream_prefix=prefix, data_dir=CACHE,
                    log_level="WARNING", secret_key=SECRET)


async def _agents(db_url: str, n: int) -> list[tuple[str, str]]:
    """N agents with phones (created once), each with a fresh login session: [(token, phone)]."""
    await upgrade_async(db_url)
    db = Database(db_url)
    try:
        if not await is_seeded(db):
            await seed(db, seed=42, customers=200, policies=200, password="Bench@Lianluo1")
        async with db.session(scope=Scope.everything()) as s:
            outlets = (await s.scalars(select(Org).where(Org.level == OrgLevel.outlet).order_by(Org.path))).all()
            have = set((await s.scalars(select(User.phone_interface)
                                        .where(User.phone_interface.like(f"{PHONE_PREFIX}%")))).all())
            pw = await hash_password(secrets.token_urlsafe(16))
            now = datetime.now(UTC)
            for i in range(n):
                phone = f"{PHONE_PREFIX}{i:05d}"
                if phone not in have:
                    s.add(User(username=f"hubbench_{i:05d}", display_name=f"压测坐席{i}", password_hash=pw,
                               org_id=outlets[i % len(outlets)].id, phone_interface=phone, created_at=now,
                               role_rows=[UserRole(role=Role.agent.value)]))
            await s.flush()
            users = (await s.execute(select(User.id, User.phone_interface)
                                     .where(User.phone_interface.like(f"{PHONE_PREFIX}%"))
                                     .order_by(User.phone_interface).limit(n))).all()
            await s.execute(delete(AuthSession).where(AuthSession.user_id.in_([u for u, _ in users])))
            out = []
            for user_id, phone in users:
                sid = secrets.token_urlsafe(32)
                s.add(AuthSession(id=sid, user_id=user_id, created_at=now, expires_at=now + timedelta(hours=2)))
                out.append((tokens.issue(_settings(db_url, "memory://", "x").signing_key, user_id, sid, now,
                                         now + timedelta(hours=2)), phone))
        return out
    finally:
        await db.dispose()


# --- the server process


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


async def _publish(ctx: AppContext, phones: list[str], rate: float, seconds: float) -> int:
    count = int(rate * seconds)
    started = time.perf_counter()
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await ctx.bus.publish(AgentRinging(call_id=f"bench-{os.getpid()}-{i}", direction="inbound",
                                           caller="13912345678", queue="complaints",
                                           agent_interface=phones[i % len(phones)], ivr={"service": "投诉"}),
                              node="bench")
    return count


async def _serve(db_url: str, bus_url: str, prefix: str, port: int, conn: Connection) -> None:
    ctx = AppContext.from_settings(_settings(db_url, bus_url, prefix))
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, backlog=4096))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    loop = asyncio.get_running_loop()
    conn.send(("ready",))
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == "rss":
            conn.send(("rss", _rss_bytes()))
        elif message[0] == "publish":
            conn.send(("published", await _publish(ctx, *message[1:])))
        else:
            break
    server.should_exit = True
    await task


def _server_main(db_url: str, bus_url: str, prefix: str, port: int, conn: Connection) -> None:
    runtime.run(_serve(db_url, bus_url, prefix, port, conn))


# --- the client process


class Client:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.hello = asyncio.Event()

    async def run(self, url: str, stop: asyncio.Event) -> None:
        async with websockets.connect(url, ping_interval=None, max_queue=None, open_timeout=60) as ws:
            async def read() -> None:
                async for text in ws:
                    received = time.time()
                    frame = json.loads(text)
                    if frame.get("type") == "ping":
                        await ws.send('{"type":"pong"}')
                    elif frame.get("type") == "hello":
                        self.hello.set()
                    elif frame.get("type") == "call.agent_ringing":
                        self.latencies.append(received - datetime.fromisoformat(frame["at"]).timestamp())

            reader = asyncio.create_task(read())
            await stop.wait()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _ask(conn: Connection, *message: Any) -> Any:
    conn.send(message)
    return (await asyncio.get_running_loop().run_in_executor(None, conn.recv))[1]


async def run(n: int, rate: float, seconds: float, bus_url: str) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{CACHE}/hub-ws.db"
    agents = await _agents(db_url, n + 1)
    warm, agents = agents[0], agents[1:]
    prefix = f"bench-hub-{secrets.token_hex(4)}"
    port = _free_port()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_server_main, args=(db_url, bus_url, prefix, port, child))
    process.start()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        # One connection first: the hub itself (followers, caches) is not a per-connection cost.
        first = Client()
        tasks.append(asyncio.create_task(first.run(f"ws://127.0.0.1:{port}/ws?token={warm[0]}", stop)))
        await asyncio.wait_for(first.hello.wait(), 30)
        rss_one = await _ask(parent, "rss")
        clients = [Client() for _ in agents]
        t0 = time.perf_counter()
        for start in range(0, len(agents), 100):
            batch = list(zip(clients[start:start + 100], agents[start:start + 100], strict=True))
            tasks += [asyncio.create_task(c.run(f"ws://127.0.0.1:{port}/ws?token={token}", stop)) for c, (token, _) in batch]
            await asyncio.wait_for(asyncio.gather(*(c.hello.wait() for c, _ in batch)), 60)
        connect_s = time.perf_counter() - t0
        await asyncio.sleep(1.0)
        rss_all = await _ask(parent, "rss")
        published = await _ask(parent, "publish", [phone for _, phone in agents], rate, seconds)
        await asyncio.sleep(1.0)  # the last frames in flight
        samples = [x for c in clients for x in c.latencies]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        parent.send(("stop",))
        process.join(30)
        if process.is_alive():
            process.kill()
        if bus_url.startswith("redis"):
            from backend.core.bus.redis_streams import RedisStreamsBus

            bus = RedisStreamsBus(bus_url, prefix=prefix)
            await bus.delete_streams("calls", "agents", "commands", "tickets", "security")
            await bus.close()
    bus_name = "redis" if bus_url.startswith("redis") else "memory"
    return {"connections": n, "rate_calls_per_s": rate, "published": published, "received": len(samples),
            "bus": bus_name, "connect_s": round(connect_s, 2), "samples": samples,
            "rss_per_connection_kib": round((rss_all - rss_one) / max(n - 1, 1) / 1024, 1),
            "server_rss_mib": round(rss_all / 2**20, 1)}


async def main(args: argparse.Namespace) -> None:
    result = await run(args.connections, args.rate, args.seconds, args.bus_url)
    samples = result.pop("samples")
    if result["received"] != result["published"]:
        print(f"# {result['published'] - result['received']} frames never arrived", file=sys.stderr, flush=True)
    memory = {k: result.pop(k) for k in ("rss_per_connection_kib", "server_rss_mib")}
    emit("hub_ws_screen_pop_latency", **result, **latency_summary(samples))
    emit("hub_ws_memory", connections=result["connections"], bus=result["bus"], **memory)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections", type=int, default=1000, help="agent websocket connections")
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second (one AgentRinging each)")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to publish")
    parser.add_argument("--bus-url", default=os.environ.get("LIANLUO_BENCH_BUS_URL", "memory://"),
                        help="memory:// (default) or redis://…")
