"""Code-table rows. Shared reference data, not org data: no OrgScoped, every org reads the same items."""

from __future__ import annotations

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId


class CodeItem(Base):
    """One item of one code table; ``parent_code`` names its parent item in the same table (a sub-cause's cause)."""

    __tablename__ = "code_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        UniqueConstraint("table_name", "code"),
        Index("ix_code_items_table_order", "table_name", "sort_order"),
    )
