"""The decision deadline a ticket gets at registration (complaint rules: 15 calendar days from receipt)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from backend.tickets.models import TicketType
from backend.tickets.numbering import SHANGHAI

DECISION_DAYS = 15
LIMITED_TYPES = frozenset({TicketType.complaint, TicketType.violation_report, TicketType.petition,
                           TicketType.dispute})


def decision_due(ticket_type: TicketType, received_at: datetime) -> datetime | None:
    """Received date + 15 calendar days, end of that day in Asia/Shanghai; None for types without a limit."""
    if ticket_type not in LIMITED_TYPES:
        return None
    day = received_at.astimezone(SHANGHAI).date() + timedelta(days=DECISION_DAYS)
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)
