"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.migrations import upgrade_async
from backend.models import Base
from tests import backends


async def _diff(url: str) -> list:
    from backend.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata))
    finally:
        await db.dispose()


async def test_given_fresh_sqlite_when_migrated_then_schema_matches_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    await upgrade_async(url)
    await upgrade_async(url)  # a second upgrade is a no-op
    assert await _diff(url) == []


async def test_given_fresh_postgresql_when_migrated_then_schema_matches_models() -> None:
    if not backends.pg_available():
        if "postgresql" in backends.REQUIRED:
            pytest.fail("postgresql required but unreachable")
        pytest.skip("postgresql unreachable")
    url, name = await backends.fresh_pg_database()
    try:
        await upgrade_async(url)
        assert await _diff(url) == []
    finally:
        await backends.drop_pg_database(name)
