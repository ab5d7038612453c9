"""Keeping the full-text index in step with tickets: one ticket at a time inside the transaction that changes
it, or all of them in batches (bulk loads, repairs).

Only the free text of the matter is indexed — 事由, 诉求 and the narrative details (出险经过, 异议事项, 咨询主题).
Names, phone numbers, identity numbers and addresses are not: they are personal data, searched by exact field
filters where the PII rules apply, never by words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Database, upsert
from backend.core.text import segment
from backend.orgs.scope import Scope
from backend.search.models import TicketText
from backend.tickets.models import Ticket

NARRATIVE_DETAILS = ("accident_description", "disputed_matter", "topic")


def ticket_words(subject: str | None, demand: str | None, details: Mapping[str, Any] | None) -> str:
    """The words to index for a ticket with these texts (CPU: jieba)."""
    narrative = [v for k in NARRATIVE_DETAILS if isinstance(v := (details or {}).get(k), str)]
    return segment(subject, demand, *narrative)


def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    stmt = upsert(session, TicketText).values(rows)
    # Unchanged words are not rewritten, so an edit of other fields leaves the full-text index alone.
    return stmt.on_conflict_do_update(index_elements=[TicketText.ticket_id], set_={"words": stmt.excluded.words},
                                      where=TicketText.words != stmt.excluded.words)


def _texts(rows: Any) -> list[dict[str, Any]]:
    return [{"ticket_id": r.id, "words": ticket_words(r.subject, r.demand, r.details)} for r in rows]


async def index_ticket(session: AsyncSession, ticket: Ticket) -> None:
    """Write ``ticket``'s words in the session's transaction: they commit, or roll back, with the change."""
    words = await asyncio.to_thread(ticket_words, ticket.subject, ticket.demand, ticket.details)
    await session.execute(_upsert(session, [{"ticket_id": ticket.id, "words": words}]))


async def reindex(db: Database, *, batch_size: int = 1000, after_id: int = 0) -> int:
    """Segment every ticket with an id above ``after_id``, ``batch_size`` per transaction, jieba in a thread.
    Returns how many tickets were indexed. Safe to run while tickets are being registered."""
    done = 0
    last = after_id
    while True:
        async with db.session(scope=Scope.everything()) as session:
            rows = (await session.execute(
                select(Ticket.id, Ticket.subject, Ticket.demand, Ticket.details)
                .where(Ticket.id > last).order_by(Ticket.id).limit(batch_size))).all()
            if not rows:
                return done
            texts = await asyncio.to_thread(_texts, rows)
            await session.execute(_upsert(session, texts))
        done += len(rows)
        last = rows[-1].id
