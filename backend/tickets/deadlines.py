"""A ticket's decision deadline (complaint rules, CBIRC order 2020 No. 3).

Calendar days counted from the day the complaint is received: 15; extended with a reason to 30; a further 30
(60 in all) only with approval by the parent org or a senior manager of the head office. Days spent on
external appraisal, testing or evaluation are left out of the count when recorded. The deadline is the end of
its day in Asia/Shanghai. A regulator-transferred complaint carries the regulator's own due date instead.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from backend.tickets.models import TicketType
from backend.tickets.numbering import SHANGHAI

DECISION_DAYS = 15
EXTENDED_DAYS = 30  # the handler may extend to this with a reason
APPROVED_DAYS = 60  # only with approval by the parent org or head office
LIMITED_TYPES = frozenset({TicketType.complaint, TicketType.violation_report, TicketType.petition,
                           TicketType.dispute})


def end_of_day(day_after: datetime, days: int) -> datetime:
    """The end (23:59:59 Asia/Shanghai) of the day ``days`` calendar days after ``day_after``'s date."""
    day = day_after.astimezone(SHANGHAI).date() + timedelta(days=days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def decision_due(ticket_type: TicketType | str, received_at: datetime, days: int = DECISION_DAYS,
                 excluded_days: int = 0) -> datetime | None:
    """Received date + ``days`` (+ excluded appraisal days); None for types without a time limit."""
    if ticket_type not in LIMITED_TYPES:
        return None
    return end_of_day(received_at, days + excluded_days)
