"""Readable ticket numbers ``<PREFIX>-YYYYMMDD-NNNNNN``, unique across processes.

The sequence comes from one upsert on ``ticket_counters`` inside the registering transaction: PostgreSQL
runs INSERT … ON CONFLICT DO UPDATE … RETURNING atomically under the row lock, SQLite under its single
writer lock. The counter row stays locked until the ticket commits, so numbers are never handed out twice.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import upsert
from backend.tickets.models import TicketCounter, TicketType

SHANGHAI = ZoneInfo("Asia/Shanghai")

PREFIXES: dict[TicketType, str] = {
    TicketType.complaint: "TS",
    TicketType.violation_report: "JB",
    TicketType.consultation: "ZX",
    TicketType.claim_report: "BA",
    TicketType.urging: "CB",
    TicketType.dispute: "YY",
    TicketType.petition: "XF",
    TicketType.suggestion: "JY",
}


async def next_number(session: AsyncSession, ticket_type: TicketType, at: datetime) -> str:
    """The next number of ``ticket_type`` for the Shanghai day of ``at``."""
    prefix = PREFIXES[ticket_type]
    day = at.astimezone(SHANGHAI).strftime("%Y%m%d")
    stmt = upsert(session, TicketCounter).values(prefix=prefix, day=day, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[TicketCounter.prefix, TicketCounter.day],
                                      set_={"last": TicketCounter.last + 1}).returning(TicketCounter.last)
    last = (await session.execute(stmt)).scalar_one()
    return f"{prefix}-{day}-{last:06d}"
