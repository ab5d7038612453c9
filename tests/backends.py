"""Which real backends the suite can reach, and the fresh databases and streams it makes on them."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

PG_URL = os.environ.get("LIANLUO_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIANLUO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# "postgresql,redis" when the run must fail rather than skip if they are unreachable (set by `make test`).
REQUIRED = {s for s in os.environ.get("LIANLUO_TEST_REQUIRE", "").split(",") if s}

ran: set[str] = set()


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def pg_available() -> bool:
    return reachable(PG_URL, 5432)


def redis_available() -> bool:
    return reachable(REDIS_URL, 6379)


async def fresh_pg_database() -> tuple[str, str]:
    """Create an empty database beside the one ``PG_URL`` names; returns (its URL, its name)."""
    import asyncpg

    name = f"lianluo_test_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _db = PG_URL.rpartition("/")
    return f"{base}/{name}", name


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def unique_prefix() -> str:
    return f"lianluo-test-{uuid.uuid4().hex[:8]}"

