"""Tickets and the per-day counters that number them.

A ticket belongs to the org of the user who registered it (首问负责制: the first receiver owns it until it is
transferred). ``details`` holds the fields only its business type has, validated by backend.tickets.details.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class TicketType(enum.StrEnum):
    complaint = "complaint"  # 消费投诉
    violation_report = "violation_report"  # 举报
    consultation = "consultation"  # 咨询
    claim_report = "claim_report"  # 报案
    urging = "urging"  # 业务催办
    dispute = "dispute"  # 异议
    petition = "petition"  # 信访
    suggestion = "suggestion"  # 意见建议


class TicketStatus(enum.StrEnum):
    draft = "draft"  # 暂存
    open = "open"
    closed = "closed"


class DueState(enum.StrEnum):
    """Where a deadline stands; moved forward by the deadline job (backend.workflow.deadline_job), and
    back to normal when the deadline moves (extension, appraisal period)."""

    normal = "normal"
    due_soon = "due_soon"  # 将超期
    overdue = "overdue"  # 超期


class Priority(enum.IntEnum):
    normal = 0
    supervised = 1  # 督办 by a superior, or escalated for being overdue
    regulator = 2  # transferred by the regulator (12378)


class Ticket(OrgScoped, Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)  # 事由
    demand: Mapped[str | None] = mapped_column(Text)  # 诉求
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    complainant_name: Mapped[str | None] = mapped_column(String(64))
    complainant_phone: Mapped[str | None] = mapped_column(String(32))
    complainant_id_number: Mapped[str | None] = mapped_column(String(32))
    policy_number: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_days: Mapped[int | None] = mapped_column()  # 15, 30 after an extension, 60 with approval
    excluded_days: Mapped[int] = mapped_column(default=0)  # external appraisal days left out of the count
    due_state: Mapped[str] = mapped_column(String(16), default=DueState.normal)
    priority: Mapped[int] = mapped_column(default=Priority.normal)
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # decided and closed, withdrawn or merged
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    process: Mapped[str | None] = mapped_column(String(48))  # workflow process key, chosen at submission
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    risk_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)  # claimed by every change (backend.tickets.services.claim)

    __table_args__ = (
        Index("ix_tickets_org_status_received", "org_id", "status", "received_at"),
        Index("ix_tickets_caller_phone", "caller_phone"),
        Index("ix_tickets_complainant_id_number", "complainant_id_number"),
        Index("ix_tickets_call_id", "call_id"),
        Index("ix_tickets_status_decision_due", "status", "decision_due_at"),
        Index("ix_tickets_org_due_state", "org_id", "due_state"),
    )

    @classmethod
    def in_scope(cls, org_ids: Any) -> Any:
        """Owned by an org in scope, or shared with one (countersign, extension approval elsewhere)."""
        shared = select(TicketAccess.ticket_id).where(TicketAccess.org_id.in_(org_ids))
        return cls.org_id.in_(org_ids) | cls.id.in_(shared)


class TicketAccess(Base):
    """An org outside a ticket's owning subtree that was asked to work on it (会签, 审批) and so sees it.

    Ownership (``Ticket.org_id``) still decides whose ticket it is; this only widens who may read it.
    Not itself org data: it is read only inside the scope rule above."""

    __tablename__ = "ticket_access"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketCounter(Base):
    """The last sequence number handed out for one prefix on one day (Asia/Shanghai). Not org data."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int]
