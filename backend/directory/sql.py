"""The embedded directory: Lianluo's own customer, policy and claim tables.

Queries run on the request's session, whose org scope the ORM hook applies; nothing here filters
by org by hand.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.core.clock import Clock, SystemClock
from backend.core.problems import NotFound
from backend.directory.codes import CLAIM_STATUSES, LINES_OF_BUSINESS, PAYMENT_FREQUENCIES, POLICY_STATUSES
from backend.directory.identity import facts_of_id_number
from backend.directory.models import Claim, Customer, Policy
from backend.directory.records import (
    ClaimRecord,
    CustomerIn,
    CustomerPatch,
    CustomerQuery,
    CustomerRecord,
    PolicyRecord,
)
from backend.orgs.models import Org
from backend.orgs.scope import Scope


def _customer_record(c: Customer, org_name: str | None) -> CustomerRecord:
    return CustomerRecord(
        id=str(c.id), org_id=c.org_id, org_name=org_name, name=c.name, gender=c.gender, birth_date=c.birth_date,
        id_type=c.id_type, id_number=c.id_number, mobile=c.mobile, phone=c.phone, email=c.email, address=c.address,
        bank_account=c.bank_account, level=c.level, risk_flags=list(c.risk_flags or []),
    )


def _policy_record(p: Policy, org_name: str | None, holder: str | None, insured: str | None) -> PolicyRecord:
    return PolicyRecord(
        id=str(p.id), policy_number=p.policy_number, org_id=p.org_id, org_name=org_name, line=p.line,
        line_label=LINES_OF_BUSINESS.get(p.line, p.line), product_name=p.product_name, status=p.status,
        status_label=POLICY_STATUSES.get(p.status, p.status), holder_id=str(p.holder_id), holder_name=holder,
        insured_id=str(p.insured_id), insured_name=insured, signed_date=p.signed_date,
        effective_date=p.effective_date, expiry_date=p.expiry_date, premium=p.premium, sum_insured=p.sum_insured,
        payment_frequency=p.payment_frequency,
        payment_frequency_label=PAYMENT_FREQUENCIES.get(p.payment_frequency, p.payment_frequency),
        payment_years=p.payment_years, next_premium_date=p.next_premium_date,
        sales_channel=p.sales_channel, sales_agent_name=p.sales_agent_name, sales_agent_code=p.sales_agent_code,
        plate_number=p.plate_number, vin=p.vin,
    )


def _claim_record(c: Claim, policy_number: str, claimant: str | None) -> ClaimRecord:
    return ClaimRecord(
        id=str(c.id), claim_number=c.claim_number, org_id=c.org_id, policy_number=policy_number,
        claimant_id=str(c.claimant_id), claimant_name=claimant, status=c.status,
        status_label=CLAIM_STATUSES.get(c.status, c.status), accident_at=c.accident_at, reported_at=c.reported_at,
        closed_at=c.closed_at, cause=c.cause, description=c.description, amount_claimed=c.amount_claimed,
        amount_paid=c.amount_paid,
    )


def _int_id(customer_id: str) -> int:
    try:
        return int(customer_id)
    except ValueError:
        raise NotFound("客户不存在") from None


class SqlDirectory:
    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def search(self, query: CustomerQuery) -> list[CustomerRecord]:
        stmt = select(Customer, Org.name).join(Org, Org.id == Customer.org_id)
        if query.phone:
            stmt = stmt.where(or_(Customer.mobile == query.phone, Customer.phone == query.phone))
        if query.id_number:
            stmt = stmt.where(Customer.id_number == query.id_number)
        if query.name:
            stmt = stmt.where(Customer.name == query.name)
        if query.policy_number or query.plate_number:
            policy = select(Policy.holder_id, Policy.insured_id)
            if query.policy_number:
                policy = policy.where(Policy.policy_number == query.policy_number)
            if query.plate_number:
                policy = policy.where(Policy.plate_number == query.plate_number)
            ids = policy.subquery()
            stmt = stmt.where(or_(Customer.id.in_(select(ids.c.holder_id)), Customer.id.in_(select(ids.c.insured_id))))
        rows = await self.session.execute(stmt.order_by(Customer.id).limit(query.limit))
        return [_customer_record(c, org_name) for c, org_name in rows]

    async def _customer_row(self, customer_id: str) -> tuple[Customer, str]:
        row = (await self.session.execute(
            select(Customer, Org.name).join(Org, Org.id == Customer.org_id).where(Customer.id == _int_id(customer_id))
        )).first()
        if row is None:
            raise NotFound("客户不存在")
        return row[0], row[1]

    async def customer(self, customer_id: str) -> CustomerRecord:
        return _customer_record(*await self._customer_row(customer_id))

    async def _policies(self, *where) -> list[PolicyRecord]:  # type: ignore[no-untyped-def]
        holder, insured = aliased(Customer), aliased(Customer)
        stmt = (
            select(Policy, Org.name, holder.name, insured.name)
            .join(Org, Org.id == Policy.org_id)
            .outerjoin(holder, holder.id == Policy.holder_id)
            .outerjoin(insured, insured.id == Policy.insured_id)
            .where(*where)
            .order_by(Policy.effective_date.desc(), Policy.id.desc())
        )
        return [_policy_record(*row) for row in await self.session.execute(stmt)]

    async def policies_of(self, customer_id: str) -> list[PolicyRecord]:
        await self._customer_row(customer_id)
        cid = _int_id(customer_id)
        return await self._policies(or_(Policy.holder_id == cid, Policy.insured_id == cid))

    async def policy(self, policy_number: str) -> PolicyRecord:
        found = await self._policies(Policy.policy_number == policy_number)
        if not found:
            raise NotFound("保单不存在")
        return found[0]

    async def _claims(self, *where) -> list[ClaimRecord]:  # type: ignore[no-untyped-def]
        stmt = (
            select(Claim, Policy.policy_number, Customer.name)
            .join(Policy, Policy.id == Claim.policy_id)
            .outerjoin(Customer, Customer.id == Claim.claimant_id)
            .where(*where)
            .order_by(Claim.reported_at.desc())
        )
        return [_claim_record(*row) for row in await self.session.execute(stmt)]

    async def claims_of(self, customer_id: str) -> list[ClaimRecord]:
        await self._customer_row(customer_id)
        return await self._claims(Claim.claimant_id == _int_id(customer_id))

    async def claim(self, claim_number: str) -> ClaimRecord:
        found = await self._claims(Claim.claim_number == claim_number)
        if not found:
            raise NotFound("赔案不存在")
        return found[0]

    async def add_customer(self, data: CustomerIn) -> CustomerRecord:
        org = await self.session.get(Org, data.org_id)
        scope: Scope = self.session.info["scope"]
        if org is None or not scope.contains_path(org.path):
            raise NotFound("机构不存在")
        now = self.clock.now()
        # The ID number states birth date and gender; don't make the agent type them again.
        birth_date, id_gender = facts_of_id_number(data.id_number) if data.id_number else (None, None)
        customer = Customer(org_id=org.id, name=data.name, gender=data.gender or id_gender,
                            birth_date=birth_date, id_number=data.id_number,
                            mobile=data.mobile, phone=data.phone, email=data.email, address=data.address,
                            risk_flags=[], created_at=now, updated_at=now)
        self.session.add(customer)
        await self.session.flush()
        return _customer_record(customer, org.name)

    async def update_customer(self, customer_id: str, patch: CustomerPatch) -> CustomerRecord:
        customer, org_name = await self._customer_row(customer_id)
        for field, value in patch.model_dump(exclude_unset=True).items():
            setattr(customer, field, value)
        customer.updated_at = self.clock.now()
        await self.session.flush()
        return _customer_record(customer, org_name)
