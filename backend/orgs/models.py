"""Org tree stored as a materialised path so "this org and everything under it" is one indexed range query."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId

# Byte order, not the locale's: the subtree range query relies on '/' sorting just below '0'.
PathString = String(512).with_variant(String(512, collation="C"), "postgresql")


class OrgLevel(enum.StrEnum):
    head_office = "head_office"  # 总公司
    branch = "branch"  # 分公司
    central_sub_branch = "central_sub_branch"  # 中心支公司
    outlet = "outlet"  # 营业网点 (and anything deeper)


LEVEL_LABELS: dict[OrgLevel, str] = {
    OrgLevel.head_office: "总公司",
    OrgLevel.branch: "分公司",
    OrgLevel.central_sub_branch: "中心支公司",
    OrgLevel.outlet: "营业网点",
}


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[OrgLevel] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="RESTRICT"), index=True)
    # "/1/4/17/": ids from the root down to this org, each followed by '/'.
    path: Mapped[str] = mapped_column(PathString, unique=True)
    region_code: Mapped[str | None] = mapped_column(String(6))  # 行政区划代码, e.g. 110000
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_orgs_level", "level"),)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1


def subtree_bounds(path: str) -> tuple[str, str]:
    """Half-open range [lo, hi) of the paths in the subtree rooted at ``path`` (byte order)."""
    return path, path[:-1] + chr(ord("/") + 1)
