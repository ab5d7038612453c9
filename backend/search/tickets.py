"""Ticket search: field filters, date ranges, the org subtree and full text, one keyset page at a time.

Scoping is the session's (backend.orgs.scope): the statement selects ``Ticket``, so only tickets of the caller's
subtree are ever considered, and the full-text condition is a subquery of ticket ids inside that statement.

Filters are generic over the ticket's columns: a filter names a column, and a column the model does not have
(yet) answers 422 instead of failing, so filters on columns added later start working when they land.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.problems import Invalid
from backend.core.text import query_words
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from backend.search.fulltext import tickets_with_words
from backend.search.keyset import Order
from backend.search.schemas import TicketFilters, TicketSearch, TicketSort
from backend.tickets.models import Ticket
from backend.tickets.numbering import SHANGHAI

# query parameter -> Ticket column, compared for equality
EXACT = {
    "number": "number", "type": "type", "status": "status", "channel": "channel",
    "caller_phone": "caller_phone", "complainant_phone": "complainant_phone", "id_number": "complainant_id_number",
    "policy_number": "policy_number", "customer_id": "customer_id", "created_by": "created_by",
    "priority": "priority", "due_state": "due_state",
}
# query parameter -> key of Ticket.details (complaints' category codes)
DETAILS = {"cause": "cause", "sub_cause": "sub_cause", "line_of_business": "line_of_business"}
# query parameter prefix -> Ticket datetime column, filtered by whole Beijing days
DAY_RANGES = {"received": "received_at", "due": "decision_due_at", "closed": "closed_at"}

ORDERS = {
    TicketSort.received_desc: Order("received_desc", Ticket.received_at, Ticket.id, descending=True),
    TicketSort.received_asc: Order("received_asc", Ticket.received_at, Ticket.id),
    TicketSort.due_asc: Order("due_asc", Ticket.decision_due_at, Ticket.id, nullable=True),
}


@dataclass
class Page:
    tickets: list[Ticket]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def _unavailable(field: str) -> Invalid:
    return Invalid(f"暂不支持按「{field}」筛选", errors=[{"field": field, "type": "unsupported_filter",
                                                    "message": "暂不支持该筛选条件"}])


def ticket_column(name: str, field: str) -> Any:
    """The ticket's column ``name``, or a 422 on ``field`` if the model has no such column."""
    column = Ticket.__mapper__.columns.get(name)
    if column is None:
        raise _unavailable(field)
    return getattr(Ticket, name)


def day_start(day: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


async def org_subtree_filter(session: AsyncSession, scope: Scope, org_id: int, subtree: bool,
                             column: Any) -> ColumnElement[bool]:
    """``column`` is ``org_id``, or within its subtree; the org must lie in the caller's own subtree."""
    org = await session.get(Org, org_id)
    if org is None or not scope.contains_path(org.path):
        raise Invalid("机构不存在或不在您的管辖范围内",
                      errors=[{"field": "org_id", "type": "out_of_scope", "message": "机构不存在或不在您的管辖范围内"}])
    return column.in_(Scope.subtree(org.path).org_ids_clause()) if subtree else column == org.id


async def conditions(session: AsyncSession, scope: Scope, f: TicketFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``f`` (without the caller's scope, which the session adds)."""
    out: list[ColumnElement[bool]] = []
    for field, name in EXACT.items():
        value = getattr(f, field)
        if value is not None:
            out.append(ticket_column(name, field) == value)
    for field, key in DETAILS.items():
        value = getattr(f, field)
        if value is not None:
            # Portable JSON access (json_extract / ->>): fine within a narrowed set, not indexed on its own.
            out.append(Ticket.details[key].as_string() == value)
    for prefix, name in DAY_RANGES.items():
        since, until = getattr(f, f"{prefix}_from"), getattr(f, f"{prefix}_to")
        if since is not None:
            out.append(ticket_column(name, f"{prefix}_from") >= day_start(since))
        if until is not None:
            out.append(ticket_column(name, f"{prefix}_to") < day_start(until + timedelta(days=1)))
    if f.supervised is not None:
        supervised_at = ticket_column("supervised_at", "supervised")
        out.append(supervised_at.is_not(None) if f.supervised else supervised_at.is_(None))
    if f.org_id is not None:
        out.append(await org_subtree_filter(session, scope, f.org_id, f.subtree, Ticket.org_id))
    if f.q is not None and (words := await asyncio.to_thread(query_words, f.q)):
        # A text with no searchable word (only punctuation, say) does not filter.
        out.append(Ticket.id.in_(tickets_with_words(session.get_bind().dialect.name, words)))
    return out


async def filtered(session: AsyncSession, scope: Scope, f: TicketFilters, *columns: Any) -> Select[Any]:
    """SELECT of ``columns`` (default: the tickets) matching ``f``, in ``f.sort`` order."""
    stmt = select(*(columns or (Ticket,))).where(*await conditions(session, scope, f))
    return stmt.order_by(*ORDERS[f.sort].order_by())


async def search_tickets(session: AsyncSession, scope: Scope, q: TicketSearch) -> Page:
    """One page of the tickets matching ``q``, after ``q.cursor``."""
    order = ORDERS[q.sort]
    stmt = await filtered(session, scope, q)
    if q.cursor is not None:
        stmt = stmt.where(order.after(*order.decode(q.cursor)))
    rows = list(await session.scalars(stmt.limit(q.limit + 1)))
    if len(rows) <= q.limit:
        return Page(rows, None)
    last = rows[q.limit - 1]
    return Page(rows[:q.limit], order.cursor(getattr(last, order.column.key), last.id))


async def matching_ids(session: AsyncSession, scope: Scope, f: TicketFilters, cap: int) -> Sequence[int]:
    """The ids of up to ``cap + 1`` matching tickets in order (one more than ``cap`` means: too many)."""
    return list(await session.scalars((await filtered(session, scope, f, Ticket.id)).limit(cap + 1)))


async def tickets_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Ticket]:
    """The tickets with ``ids`` that are (still) in scope, in the order of ``ids``."""
    found = {t.id: t for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
