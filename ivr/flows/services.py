"""What a call flow may look up or record, as plain facts: the one interface between flows and the
platform's data. ``ivr.lookups`` implements it on the database; tests use an in-memory fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class CustomerFacts:
    customer_id: int
    org_id: int
    level: str  # normal / silver / gold / vip
    risk_flags: tuple[str, ...] = ()
    language: str = "zh"

    @property
    def vip(self) -> bool:
        return self.level == "vip"


@dataclass(frozen=True)
class PolicyFacts:
    policy_id: int
    policy_number: str
    customer_id: int  # the holder
    org_id: int
    line: str
    product_name: str
    status: str  # backend.directory.codes.POLICY_STATUSES, e.g. in_force
    in_force: bool
    holder_id_last4: str | None  # last 4 characters of the holder's ID number, for self-service checks
    next_premium_date: date | None
    next_premium_amount: Decimal | None
    plate_number: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class IvrServices(Protocol):
    def now(self) -> datetime:
        """The current time (a controllable clock in tests), timezone-aware."""

    async def customer_by_phone(self, phone: str) -> CustomerFacts | None: ...

    async def policy_by_number(self, policy_number: str) -> PolicyFacts | None: ...

    async def policy_by_plate(self, plate: str) -> PolicyFacts | None: ...

    async def repeat_complainant(self, phone: str, *, days: int) -> bool:
        """Whether this number complained (by phone or on record) in the last ``days`` days."""

    async def record_callback(self, *, phone: str | None, service: str, call_id: str, flow: str) -> None:
        """Leave a callback request (out of hours, or the caller asked), for the campaign dialer."""
