"""Customer lookup by phone number (the screen pop's first query) over 100,000 customers.

Measured twice per database: through the HTTP API (uvicorn on loopback, an agent's token, the full
request path with auth, scoping and PII masking) and directly on the directory service. SQLite
always; PostgreSQL when ``LIANLUO_BENCH_DATABASE_URL`` (default: the local server) is reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from backend.app import create_app
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.settings import Settings
from backend.directory.models import Customer
from backend.directory.records import CustomerQuery
from backend.directory.sql import SqlDirectory
from backend.migrations import upgrade_async
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from backend.seed.builder import is_seeded, seed
from bench.common import emit, latency_summary

PASSWORD = "Bench@Lianluo1"
CACHE = Path(tempfile.gettempdir()) / "lianluo-bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _prepare(url: str, customers: int) -> None:
    await upgrade_async(url)
    db = Database(url)
    try:
        if not await is_seeded(db):
            started = time.perf_counter()
            await seed(db, seed=42, customers=customers, policies=customers // 5, password=PASSWORD)
            print(f"# seeded {customers} customers in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    finally:
        await db.dispose()


async def _phones(db: Database, n: int) -> list[str]:
    async with db.session(scope=Scope.everything()) as s:
        phones = list((await s.scalars(select(Customer.mobile).where(Customer.mobile.is_not(None)))).all())
    rng = random.Random(1)
    # 90% callers we know, 10% numbers we don't (new callers are common on a hotline)
    return [rng.choice(phones) if rng.random() < 0.9 else f"1990000{rng.randrange(10_000):04d}" for _ in range(n)]


async def _direct(db: Database, phones: list[str]) -> list[float]:
    async with db.session(scope=Scope.everything()) as s:
        root = await s.scalar(select(Org).where(Org.parent_id.is_(None)))
    samples = []
    for phone in phones:
        t0 = time.perf_counter()
        async with db.session(scope=Scope.subtree(root.path)) as s:
            await SqlDirectory(s).search(CustomerQuery(phone=phone))
        samples.append(time.perf_counter() - t0)
    return samples


async def _http(settings: Settings, phones: list[str]) -> list[float]:
    ctx = AppContext.from_settings(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    samples = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            r = await client.post("/api/auth/login", json={"username": "agent_hq", "password": PASSWORD})
            r.raise_for_status()
            client.headers["Authorization"] = f"Bearer {r.json()['token']}"
            for phone in phones:
                t0 = time.perf_counter()
                r = await client.get("/api/customers", params={"phone": phone})
                samples.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
    finally:
        server.should_exit = True
        await task
    return samples


async def run_one(db_name: str, url: str, customers: int, n: int) -> None:
    await _prepare(url, customers)
    db = Database(url)
    try:
        phones = await _phones(db, n + 200)
        await _direct(db, phones[:200])  # warm caches and the connection pool
        direct = await _direct(db, phones[200:])
    finally:
        await db.dispose()
    emit("directory_lookup_by_phone", path="direct", db=db_name, customers=customers, **latency_summary(direct))
    settings = Settings(database_url=url, data_dir=CACHE, log_level="WARNING", secret_key="bench-signing-key-0123456789abcdef-xyz")
    http = await _http(settings, phones[:n])
    emit("directory_lookup_by_phone", path="http", db=db_name, customers=customers, **latency_summary(http))


async def main(args: argparse.Namespace) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    await run_one("sqlite", f"sqlite+aiosqlite:///{CACHE}/lookup-{args.customers}.db", args.customers, args.n)
    pg = args.pg_url
    if pg:
        import asyncpg

        admin = pg.replace("postgresql+asyncpg://", "postgresql://")
        name = f"lianluo_bench_lookup_{args.customers}"
        try:
            conn = await asyncpg.connect(admin)
        except OSError:
            print(f"# postgresql unreachable at {pg}; skipped", file=sys.stderr, flush=True)
            return
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await run_one("postgresql", pg.rsplit("/", 1)[0] + f"/{name}", args.customers, args.n)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=2000, help="lookups per path")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
