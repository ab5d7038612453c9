"""Keyset pagination: a page starts after the (sort value, id) of the previous page's last row.

Unlike OFFSET, a page costs the same however deep it is, and rows inserted meanwhile never shift a page: every
row is returned exactly once. The cursor handed to clients is opaque (base64 of the sort name, value and id).
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, tuple_

from backend.core.problems import Invalid

MAX_ID = 2**63 - 1


def _bad_cursor() -> Invalid:
    return Invalid("翻页游标无效，请从第一页重新查询",
                   errors=[{"field": "cursor", "type": "bad_cursor", "message": "翻页游标无效"}])


@dataclass(frozen=True)
class Order:
    """One sort order of a list: a datetime column (``nullable``: its NULLs come last), then the id."""

    name: str
    column: Any
    id: Any
    descending: bool = False
    nullable: bool = False

    def order_by(self) -> list[Any]:
        if self.descending:
            return [self.column.desc(), self.id.desc()]
        column = self.column.asc().nulls_last() if self.nullable else self.column.asc()
        return [column, self.id.asc()]

    def after(self, value: datetime | None, row_id: int) -> ColumnElement[bool]:
        """The rows that come after (value, row_id) in this order."""
        beyond = operator.lt if self.descending else operator.gt
        if value is None:  # among the NULLs, which come last: only the id decides
            return and_(self.column.is_(None), beyond(self.id, row_id))
        # A row comparison: one range scan of the (column, id) index on both databases.
        later = beyond(tuple_(self.column, self.id),
                       tuple_(literal(value, self.column.type), literal(row_id, self.id.type)))
        return or_(later, self.column.is_(None)) if self.nullable else later

    def cursor(self, value: datetime | None, row_id: int) -> str:
        raw = json.dumps([self.name, value.isoformat() if value else None, row_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[datetime | None, int]:
        """(value, id) of a cursor made by this order; 422 for anything else."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            name, value, row_id = raw
            at = datetime.fromisoformat(value) if value is not None else None
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise _bad_cursor() from None
        if name != self.name or type(row_id) is not int or not 0 <= row_id <= MAX_ID:
            raise _bad_cursor()
        if (at is not None and at.tzinfo is None) or (at is None and not self.nullable):
            raise _bad_cursor()
        return at, row_id
