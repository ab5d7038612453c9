"""Customers, policies and claims as Lianluo stores them (the embedded directory)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class Customer(OrgScoped, Base):
    """A person known to the insurer. ``org_id`` is the servicing org."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(1))  # M / F
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_type: Mapped[str] = mapped_column(String(16), default="resident_id")
    id_number: Mapped[str | None] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    bank_account: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16), default="normal")  # normal / silver / gold / vip
    risk_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_customers_mobile", "mobile"),
        Index("ix_customers_phone", "phone"),
        Index("ix_customers_id_number", "id_number"),
        Index("ix_customers_name", "name"),
    )


class Policy(OrgScoped, Base):
    """A policy. ``org_id`` is the selling org."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    policy_number: Mapped[str] = mapped_column(String(32), unique=True)
    line: Mapped[str] = mapped_column(String(32))  # codes.LINES_OF_BUSINESS
    product_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # codes.POLICY_STATUSES
    holder_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    signed_date: Mapped[date] = mapped_column(Date)  # 签收/投保日 (cooling-off period counts from here)
    effective_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    premium: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    sum_insured: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    payment_frequency: Mapped[str] = mapped_column(String(16))
    payment_years: Mapped[int] = mapped_column(default=1)
    next_premium_date: Mapped[date | None] = mapped_column(Date)
    sales_channel: Mapped[str | None] = mapped_column(String(32))
    sales_agent_name: Mapped[str | None] = mapped_column(String(64))
    sales_agent_code: Mapped[str | None] = mapped_column(String(32))
    plate_number: Mapped[str | None] = mapped_column(String(16))
    vin: Mapped[str | None] = mapped_column(String(17))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    holder: Mapped[Customer] = relationship(foreign_keys=[holder_id], lazy="raise")
    insured: Mapped[Customer] = relationship(foreign_keys=[insured_id], lazy="raise")

    __table_args__ = (Index("ix_policies_plate_number", "plate_number"),)


class Claim(OrgScoped, Base):
    """A claim on a policy. ``org_id`` is the handling org."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(32), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="RESTRICT"), index=True)
    claimant_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # codes.CLAIM_STATUSES
    accident_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    amount_claimed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_paid: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    policy: Mapped[Policy] = relationship(lazy="raise")
