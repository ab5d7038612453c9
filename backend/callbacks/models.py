"""A caller's request to be called back, as the IVR recorded it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.calls.models import BusId
from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped

CallbackStatus = Literal["pending", "dialling", "done", "cancelled"]
STATUSES: tuple[str, ...] = get_args(CallbackStatus)


class CallbackRequest(OrgScoped, Base):
    """Belongs to the org of the customer the IVR recognised, else to ``cti_org_code``'s (the root)."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(BigId)
    node: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    bus_event_id: Mapped[str] = mapped_column(BusId)

    __table_args__ = (
        UniqueConstraint("node", "bus_event_id"),
        Index("ix_callback_requests_status_due", "status", "due_at"),
        Index("ix_callback_requests_org_due", "org_id", "due_at"),
    )
