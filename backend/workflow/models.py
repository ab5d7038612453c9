"""Work items (where a ticket is now and who must act) and handling records (every action taken: the timeline).

A work item belongs to its assignee's org, so it shows in that org's to-do list; a handling record belongs
to the actor's org. Who may see the ticket itself is decided by ``Ticket.org_id`` (see backend.workflow.engine
for the ownership rule).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class AssigneeKind(enum.StrEnum):
    user = "user"  # one named user
    role_at_org = "role_at_org"  # anyone holding the role at the org
    org = "org"  # any handler at the org


class WorkItemStatus(enum.StrEnum):
    open = "open"
    done = "done"


class WorkItem(OrgScoped, Base):
    __tablename__ = "work_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_role: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (Index("ix_work_items_org_status_due", "org_id", "status", "due_at"),)


class HandlingRecord(OrgScoped, Base):
    __tablename__ = "handling_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the actor got the work
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    target_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="RESTRICT"))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
