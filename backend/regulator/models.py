"""Tables of the 12378 import: each complaint the regulator transferred (keyed by the regulator's own number,
linked to the ticket it became), and each import run with its counts and per-row errors.

A regulator complaint belongs to the org it was assigned to (被投诉机构); an import batch to the importing
user's org.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped


class ImportBatch(OrgScoped, Base):
    __tablename__ = "regulator_import_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    encoding: Mapped[str] = mapped_column(String(16))  # xlsx, utf-8, utf-8-sig, gbk, gb18030
    row_count: Mapped[int]  # data rows in the file (blank rows not counted)
    imported_count: Mapped[int]
    duplicate_count: Mapped[int]  # rows whose number was already imported
    error_count: Mapped[int]  # rows refused, each with one or more entries in ``errors``
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # {row, column, message}
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_regulator_import_batches_org_created", "org_id", "created_at"),)


class RegulatorComplaint(OrgScoped, Base):
    __tablename__ = "regulator_complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    regulator_number: Mapped[str] = mapped_column(String(64), unique=True)  # 投诉编号
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # 来源: 12378 / 信函 / 来访 / 网络
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 接收时间 (by the regulator)
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 转送时间
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 办理时限 / 到期日, end of that day
    repeat_flag: Mapped[bool] = mapped_column(default=False)  # 重复投诉标识
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the row as read, header -> text
    import_batch_id: Mapped[int] = mapped_column(
        ForeignKey("regulator_import_batches.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_regulator_complaints_org_received", "org_id", "received_at"),)
