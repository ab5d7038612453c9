"""Attachment rows: what was uploaded, by whom, and what it belongs to. The bytes live on disk by SHA-256.

An attachment row belongs to its uploader's org (``org_id``), but who may download it is decided by what
it belongs to (backend.attachments.services): whoever sees the ticket sees its attachments and those of its
handling records, wherever the uploader sits — tickets move between orgs as they are transferred, and their
files must follow without being rewritten; published articles are read beyond their author's subtree. An
unlinked upload is its uploader's alone.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class OwnerKind(enum.StrEnum):
    ticket = "ticket"
    handling_record = "handling_record"
    kb_article = "kb_article"
    fund_usage = "fund_usage"


class Attachment(OrgScoped, Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_kind: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)  # no FK: it points into one of several tables
    file_name: Mapped[str] = mapped_column(String(255))  # sanitised original name
    content_type: Mapped[str] = mapped_column(String(128))  # what downloads are served as (from the content)
    detected_type: Mapped[str] = mapped_column(String(16))  # pdf, jpg, docx, … (settings.attachment_types)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_attachments_owner", "owner_kind", "owner_id"),)
