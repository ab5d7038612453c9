"""Reading code tables, and checking that a code a user sent exists (and sits under the right parent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.codes.models import CodeItem
from backend.core.problems import NotFound

TABLES = ("complaint_cause", "line_of_business", "channel", "business_type", "risk_word")


class UnknownCodeTable(NotFound):
    title, code = "代码表不存在", "code-table-not-found"


async def active_items(session: AsyncSession, table: str) -> list[CodeItem]:
    """The active items of ``table`` in display order."""
    if table not in TABLES:
        raise UnknownCodeTable(f"代码表「{table}」不存在")
    stmt = (select(CodeItem).where(CodeItem.table_name == table, CodeItem.active.is_(True))
            .order_by(CodeItem.sort_order, CodeItem.id))
    return list(await session.scalars(stmt))


async def find(session: AsyncSession, table: str, code: str) -> CodeItem | None:
    """The active item ``code`` of ``table``, or None."""
    return await session.scalar(select(CodeItem).where(
        CodeItem.table_name == table, CodeItem.code == code, CodeItem.active.is_(True)))
