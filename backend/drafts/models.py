"""The form draft table: one row per user and form, overwritten by every autosave.

A draft belongs to its author alone (every query filters on ``user_id``); it is also ``OrgScoped`` by the
author's org at the last save, so the one scoping mechanism applies to it like to any business row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class FormDraft(OrgScoped, Base):
    __tablename__ = "form_drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    form_key: Mapped[str] = mapped_column(String(128))  # which form: "ticket:complaint:call:<call id>", …
    title: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the form's values as the client sent them
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the client saved it (its clock)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the server stored it (housekeeping, order)
    version: Mapped[int] = mapped_column(default=1)  # +1 per write; a writer may insist on the one it read

    # The unique index also serves every lookup and listing, which all start with the user.
    __table_args__ = (UniqueConstraint("user_id", "form_key"),)
