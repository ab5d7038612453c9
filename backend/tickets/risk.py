"""Risk warnings raised when a ticket is submitted: repeat contact, an older complaint, a prior violation report, risk words,
suspected agency surrender (代理退保).

History lookups are tree-wide by nature (a repeat complaint registered by another branch still counts), so
they run with ``across_org_tree`` and return only yes/no: no other ticket's data leaves this module.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.codes.services import active_items
from backend.orgs.scope import across_org_tree
from backend.tickets.models import Ticket, TicketStatus, TicketType

REPEAT_WINDOW = timedelta(days=30)
SURRENDER = "退保"
AGENCY_WORDS = ("代理", "代办", "维权", "中介", "全额退")


def _same_person(ticket: Ticket) -> ColumnElement[bool]:
    phones = {p for p in (ticket.caller_phone, ticket.complainant_phone) if p}
    clauses: list[ColumnElement[bool]] = []
    if phones:
        clauses += [Ticket.caller_phone.in_(phones), Ticket.complainant_phone.in_(phones)]
    if ticket.complainant_id_number:
        clauses.append(Ticket.complainant_id_number == ticket.complainant_id_number)
    return or_(*clauses) if clauses else false()


async def _any(session: AsyncSession, *where: ColumnElement[bool]) -> bool:
    stmt = select(exists().where(*where))
    return bool(await session.scalar(across_org_tree(stmt)))


async def risk_flags(session: AsyncSession, ticket: Ticket) -> list[str]:
    flags: list[str] = []
    others = (_same_person(ticket), Ticket.id != ticket.id, Ticket.status != TicketStatus.draft)
    if await _any(session, *others, Ticket.received_at >= ticket.received_at - REPEAT_WINDOW,
                  Ticket.received_at <= ticket.received_at + REPEAT_WINDOW):
        flags.append("repeat")
    elif await _any(session, *others, Ticket.type == TicketType.complaint, Ticket.received_at < ticket.received_at):
        flags.append("prior_complaint")  # an older complaint of the same person, outside the repeat window
    if await _any(session, *others, Ticket.type == TicketType.violation_report):
        flags.append("prior_violation_report")
    text = f"{ticket.subject}\n{ticket.demand or ''}"
    if any(item.label in text for item in await active_items(session, "risk_word")):
        flags.append("risk_words")
    if SURRENDER in text and any(word in text for word in AGENCY_WORDS):
        flags.append("agency_surrender")
    return flags
