"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.migrations import upgrade_async
from backend.models import Base
from backend.search.models import is_fulltext_machinery
from backend.workflow.models import ORDERED_INDEXES
from tests import backends


async def _diff(url: str) -> list:
    from backend.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={
                    "compare_type": True,
                    # The full-text index is per database and outside the models (backend.search.models).
                    # ... and indexes with a DESC key, which reflection cannot describe: checked below instead.
                    "include_name": lambda name, type_, _parents: not is_fulltext_machinery(name, type_),
                    "include_object": lambda _obj, name, _type, _reflected, _to: name not in ORDERED_INDEXES}),
                    Base.metadata)) + await _ordered_index_differences(conn)
    finally:
        await db.dispose()


async def _ordered_index_differences(conn) -> list:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    wrong = []
    for name, expected in ORDERED_INDEXES.items():
        if conn.dialect.name == "sqlite":
            sql = (await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})).scalar()
        else:
            sql = (await conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name})).scalar()
        if sql is None or expected not in " ".join(sql.replace("(", " ").replace(")", " ").split()).replace(" ,", ","):
            wrong.append(("ordered index", name, sql))
    return wrong


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
