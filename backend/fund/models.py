"""Tables of the complaint fund (投诉基金): one account per org, and its transactions (deposits and usages).

Amounts are integer fen (分), never floats. The account keeps running totals so a balance is one row and
an approval is one conditional UPDATE: ``deposited_fen`` (all deposits), ``committed_fen`` (approved and
settled usage) and ``pending_fen`` (usage applied for, not yet decided). Balance = deposited − committed;
available = balance − pending. A transaction belongs to its account's org, so both are seen by the same
subtree. A usage's transitions (apply, approve, reject, settle, cancel: who, when, opinion) are kept in
order in its ``history`` JSON list — they are only ever read with the usage.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class TransactionKind(enum.StrEnum):
    deposit = "deposit"  # 拨入
    usage = "usage"  # 使用（赔偿/补偿）


class UsageStatus(enum.StrEnum):
    applied = "applied"  # 已申请
    approved = "approved"  # 已审批
    settled = "settled"  # 已支付结算
    rejected = "rejected"  # 已驳回
    cancelled = "cancelled"  # 已撤销


POSTED = "posted"  # the status of a deposit: it takes effect when recorded


class FundAccount(OrgScoped, Base):
    __tablename__ = "fund_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    deposited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    committed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("org_id"),
        # The last guard against overdrawing, whatever the code above it does.
        CheckConstraint("committed_fen <= deposited_fen", name="not_overdrawn"),
        CheckConstraint("pending_fen >= 0", name="pending_not_negative"),
    )

    @property
    def balance_fen(self) -> int:
        return self.deposited_fen - self.committed_fen

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.pending_fen


class FundTransaction(OrgScoped, Base):
    __tablename__ = "fund_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    payee_name: Mapped[str | None] = mapped_column(String(64))
    payee_account: Mapped[str | None] = mapped_column(String(34))
    reason: Mapped[str | None] = mapped_column(Text)  # usage: 事由; deposit: 说明
    settled_on: Mapped[date | None] = mapped_column(Date)
    voucher_number: Mapped[str | None] = mapped_column(String(64))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_fund_transactions_account_created", "account_id", "created_at"),
        Index("ix_fund_transactions_org_kind_status", "org_id", "kind", "status"),
    )
