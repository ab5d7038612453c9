"""The IVR's view of the platform's data (``IvrServices`` on the database and the bus).

The IVR acts for no user: it reads across the whole org tree, and only what a flow needs, as plain
facts. It writes nothing itself (the backend owns the database): a callback request goes out as an
event, which the backend's consumer turns into a row.

Repeat complainant: within the window the caller chose 投诉 in the IVR (``ivr_sessions``), or a
complaint-like ticket (投诉, 举报, 信访, 异议) was registered with their number, by whichever org.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from backend.calls.ivr_models import IvrSessionRecord
from backend.core.bus import Bus
from backend.core.clock import Clock
from backend.core.db import Database
from backend.core.events import CallbackRequested
from backend.directory.identity import normalise_phone
from backend.directory.models import Customer, Policy
from backend.orgs.scope import Scope
from backend.tickets.models import Ticket
from ivr.flows.services import CustomerFacts, PolicyFacts

IN_FORCE = frozenset({"in_force", "cooling_off"})
# Fewer digits than this match too many numbers to be worth a query.
MIN_POLICY_DIGITS = 6
MIN_PLATE_DIGITS = 4
COMPLAINT = "投诉"
COMPLAINT_TYPES = ("complaint", "violation_report", "petition", "dispute")  # what a caller "complained" through


def _phone(raw: str) -> str | None:
    try:
        return normalise_phone(raw)
    except ValueError:
        return None


class DatabaseServices:
    def __init__(self, db: Database, bus: Bus, clock: Clock, *, node: str,
                 next_opening: Callable[[datetime], datetime]) -> None:
        self.db, self.bus, self.clock, self.node = db, bus, clock, node
        self._next_opening = next_opening

    def now(self) -> datetime:
        return self.clock.now()

    async def customer_by_phone(self, phone: str) -> CustomerFacts | None:
        number = _phone(phone)
        if number is None:
            return None
        async with self.db.session(scope=Scope.everything()) as session:
            customer = await session.scalar(
                select(Customer).where(or_(Customer.mobile == number, Customer.phone == number))
                .order_by(Customer.updated_at.desc(), Customer.id.desc()).limit(1))
        if customer is None:
            return None
        return CustomerFacts(customer_id=customer.id, org_id=customer.org_id, level=customer.level,
                             risk_flags=tuple(customer.risk_flags or ()))

    async def _policy(self, *where, keep: Callable[[Policy], bool] = lambda _: True) -> PolicyFacts | None:  # type: ignore[no-untyped-def]
        async with self.db.session(scope=Scope.everything()) as session:
            rows = (await session.execute(
                select(Policy, Customer.id_number).join(Customer, Customer.id == Policy.holder_id).where(*where)
                # of several (a plate moves from policy to policy), the one in force and newest first
                .order_by((Policy.status.in_(IN_FORCE)).desc(), Policy.effective_date.desc()).limit(5))).all()
        rows = [r for r in rows if keep(r[0])]
        if not rows or len({r[0].holder_id for r in rows}) > 1:
            return None  # nothing, or the digits fit several people's policies: better no answer than a wrong one
        policy, id_number = rows[0]
        return PolicyFacts(
            policy_id=policy.id, policy_number=policy.policy_number, customer_id=policy.holder_id,
            org_id=policy.org_id, line=policy.line, product_name=policy.product_name, status=policy.status,
            in_force=policy.status in IN_FORCE, holder_id_last4=id_number[-4:].upper() if id_number else None,
            next_premium_date=policy.next_premium_date,
            next_premium_amount=Decimal(policy.premium) if policy.next_premium_date else None,
            plate_number=policy.plate_number)

    async def policy_by_number(self, policy_number: str) -> PolicyFacts | None:
        """The number as printed (``PDAA2026…``), or as a keypad can enter it: its digits, without the
        letter prefix."""
        number = policy_number.strip().upper()
        if not number.isdigit():
            return await self._policy(Policy.policy_number == number)
        if len(number) < MIN_POLICY_DIGITS:
            return None
        return await self._policy(Policy.policy_number.like(f"%{number}"),
                                  keep=lambda p: re.fullmatch(rf"[A-Z]*{number}", p.policy_number) is not None)

    async def policy_by_plate(self, plate: str) -> PolicyFacts | None:
        """The whole plate (京A12345), or the digits at its end as a keypad can enter them."""
        value = plate.strip().upper()
        if not value.isdigit():
            return await self._policy(Policy.plate_number == value)
        if len(value) < MIN_PLATE_DIGITS:
            return None
        return await self._policy(Policy.plate_number.like(f"%{value}"))

    async def repeat_complainant(self, phone: str, *, days: int) -> bool:
        number = _phone(phone)
        if number is None:
            return False
        since = self.now() - timedelta(days=days)
        async with self.db.session(scope=Scope.everything()) as session:
            by_phone = await session.scalar(
                select(IvrSessionRecord.id).where(IvrSessionRecord.caller == number,
                                                  IvrSessionRecord.service == COMPLAINT,
                                                  IvrSessionRecord.started_at >= since).limit(1))
            on_record = by_phone or await session.scalar(
                select(Ticket.id).where(or_(Ticket.caller_phone == number, Ticket.complainant_phone == number),
                                        Ticket.type.in_(COMPLAINT_TYPES), Ticket.status != "draft",
                                        Ticket.received_at >= since).limit(1))
        return on_record is not None

    async def record_callback(self, *, phone: str | None, service: str, call_id: str, flow: str) -> None:
        customer = await self.customer_by_phone(phone) if phone else None
        now = self.now()
        await self.bus.publish(CallbackRequested(
            call_id=call_id, phone=_phone(phone) if phone else None, service=service, flow=flow,
            customer_id=customer.customer_id if customer else None, requested_at=now,
            due_at=self._next_opening(now)), node=self.node)
