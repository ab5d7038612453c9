"""Work items (where a ticket is now and who must act) and handling records (every action taken: the timeline).

A work item belongs to its assignee's org, so it shows in that org's to-do list; a handling record belongs
to the actor's org. Who may see the ticket itself is decided by ``Ticket.org_id`` (see backend.workflow.engine
for the ownership rule).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class AssigneeKind(enum.StrEnum):
    user = "user"  # one named user
    role_at_org = "role_at_org"  # anyone holding the role at the org
    org = "org"  # any handler at the org


class WorkItemStatus(enum.StrEnum):
    open = "open"
    waiting = "waiting"  # its holder asked others (会签) and waits for their opinions
    done = "done"
    cancelled = "cancelled"  # no longer needed (会签 "any" completed, ticket withdrawn or merged)


class WorkItemKind(enum.StrEnum):
    step = "step"  # the ticket's main line: one open or waiting at a time
    countersign = "countersign"  # 会签: one per unit asked, in parallel
    approval = "approval"  # 审批 of an extension beyond 30 days, beside the main line


ACTIVE = (WorkItemStatus.open, WorkItemStatus.waiting)


# Indexes with a DESC key column: Alembic cannot compare them by reflection (SQLite reports no direction), so
# the schema test checks their definition itself.
ORDERED_INDEXES = {"ix_work_items_todo": "org_id, status, priority DESC, due_at, id"}


class WorkItem(OrgScoped, Base):
    __tablename__ = "work_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_role: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=WorkItemKind.step)
    priority: Mapped[int] = mapped_column(default=0)  # the ticket's (Ticket.priority), for the to-do order
    parent_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # countersign mode, extension asked
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_state: Mapped[str] = mapped_column(String(16), default="normal")  # backend.tickets.models.DueState
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    # 我的待办 walks ix_work_items_todo in order (most urgent first, then earliest due) and stops at the page.
    __table_args__ = (Index("ix_work_items_todo", "org_id", "status", text("priority DESC"), "due_at", "id"),
                      Index("ix_work_items_status_due", "status", "due_at"))


class HandlingRecord(OrgScoped, Base):
    __tablename__ = "handling_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(24))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the actor got the work
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    target_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="RESTRICT"))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
