"""Handling-record search (处理记录查询): by action, acting unit, handler, time and ticket.

Who sees a record: whoever sees its ticket. A record is stored under its actor's org, but it is part of the
ticket's history: the ticket's timeline already shows every record of a visible ticket, wherever the actor sat
(a branch's instruction on an outlet's complaint is the outlet's business too), and a record of a ticket the
caller cannot see (it moved out of their subtree) reveals that ticket's matter, so it is not shown — not even
to the actor. The statement is therefore marked tree-wide and the caller's scope is applied to ``Ticket`` with
the scope's own rule (``Ticket.in_scope``: owned within the subtree, or shared with it), on the row that decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.orgs.scope import Scope, across_org_tree
from backend.search.keyset import Order
from backend.search.schemas import RecordFilters, RecordSearch
from backend.search.tickets import day_start, org_subtree_filter
from backend.tickets.models import Ticket
from backend.workflow.models import HandlingRecord

NEWEST_FIRST = Order("acted_desc", HandlingRecord.acted_at, HandlingRecord.id, descending=True)


@dataclass
class FoundRecord:
    record: HandlingRecord
    ticket_number: str
    ticket_type: str
    actor_name: str | None


@dataclass
class FoundRecords:
    rows: list[FoundRecord]
    next_cursor: str | None


def visible_tickets(scope: Scope) -> list[ColumnElement[bool]]:
    """The scope's own rule for tickets (``Ticket.in_scope``), as a condition."""
    return [] if scope.unrestricted else [Ticket.in_scope(scope.org_ids_clause())]


def _rows_of(stmt: Select[Any]) -> Select[Any]:
    """(record, ticket number, ticket type, actor name) rows of ``stmt``'s records."""
    return stmt.add_columns(Ticket.number, Ticket.type, User.display_name).outerjoin(User, User.id == HandlingRecord.actor_user_id)


async def filtered(session: AsyncSession, scope: Scope, f: RecordFilters, *columns: Any) -> Select[Any]:
    """SELECT of ``columns`` (default: the records) matching ``f`` among the tickets ``scope`` sees, newest first."""
    where = visible_tickets(scope)
    if f.action is not None:
        where.append(HandlingRecord.action == f.action)
    if f.actor_user_id is not None:
        where.append(HandlingRecord.actor_user_id == f.actor_user_id)
    if f.ticket_number is not None:
        where.append(Ticket.number == f.ticket_number)
    if f.acted_from is not None:
        where.append(HandlingRecord.acted_at >= day_start(f.acted_from))
    if f.acted_to is not None:
        where.append(HandlingRecord.acted_at < day_start(f.acted_to + timedelta(days=1)))
    if f.org_id is not None:
        where.append(await org_subtree_filter(session, scope, f.org_id, f.subtree, HandlingRecord.org_id))
    stmt = (select(*(columns or (HandlingRecord,))).select_from(HandlingRecord)
            .join(Ticket, Ticket.id == HandlingRecord.ticket_id).where(*where).order_by(*NEWEST_FIRST.order_by()))
    return across_org_tree(stmt)


async def search_records(session: AsyncSession, scope: Scope, q: RecordSearch) -> FoundRecords:
    stmt = _rows_of(await filtered(session, scope, q))
    if q.cursor is not None:
        stmt = stmt.where(NEWEST_FIRST.after(*NEWEST_FIRST.decode(q.cursor)))
    rows = [FoundRecord(*row) for row in (await session.execute(stmt.limit(q.limit + 1))).all()]
    if len(rows) <= q.limit:
        return FoundRecords(rows, None)
    last = rows[q.limit - 1].record
    return FoundRecords(rows[:q.limit], NEWEST_FIRST.cursor(last.acted_at, last.id))


async def matching_ids(session: AsyncSession, scope: Scope, f: RecordFilters, cap: int) -> list[int]:
    """The ids of up to ``cap + 1`` matching records in order (one more than ``cap`` means: too many)."""
    return list(await session.scalars((await filtered(session, scope, f, HandlingRecord.id)).limit(cap + 1)))


async def records_by_ids(session: AsyncSession, scope: Scope, ids: list[int]) -> list[FoundRecord]:
    """The rows of the records with ``ids`` that ``scope`` (still) sees, in the order of ``ids``."""
    stmt = across_org_tree(_rows_of(select(HandlingRecord).join(Ticket, Ticket.id == HandlingRecord.ticket_id)
                                    .where(HandlingRecord.id.in_(ids), *visible_tickets(scope))))
    found = {row[0].id: FoundRecord(*row) for row in (await session.execute(stmt)).all()}
    return [found[i] for i in ids if i in found]
