"""What callers did in the IVR: one row per run of a flow on a call, with its whole path.

Kept beside the call record rather than inside it: the IVR reports the path the moment the flow ends,
usually long before the call does, and a call may pass through the IVR more than once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.calls.models import BusId
from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class IvrSessionRecord(OrgScoped, Base):
    """Belongs to the org of the customer the IVR recognised, else to ``cti_org_code``'s (the root)."""

    __tablename__ = "ivr_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    node: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(32))  # 报案 投诉 咨询 保单查询 人工
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None]
    caller: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(BigId)
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    steps: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float] = mapped_column(Float)
    bus_event_id: Mapped[str] = mapped_column(BusId)

    __table_args__ = (
        UniqueConstraint("node", "bus_event_id"),
        Index("ix_ivr_sessions_call", "node", "call_id"),
        Index("ix_ivr_sessions_caller_started", "caller", "started_at"),
        Index("ix_ivr_sessions_org_started", "org_id", "started_at"),
    )
