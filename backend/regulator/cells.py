"""Turning spreadsheet cells into values: text, dates and times as the regulator's files write them, yes/no
flags and the complaint source. Each parser raises ValueError with a message for the user (Chinese)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from backend.tickets import deadlines
from backend.tickets.numbering import SHANGHAI

_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[\sT]*(\d{1,2})[:：时点](\d{1,2})(?:[:：分](\d{1,2})(?:\.\d+)?秒?|分)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Serial day numbers of 1982-01-01 … 2109-12-31: anything else in a date column is not a date.
_SERIALS = (30000.0, 76000.0)

SOURCES = ("12378", "信函", "来访", "网络")
_YES = {"是", "y", "yes", "true", "1", "重复", "重复投诉"}
_NO = {"否", "n", "no", "false", "0", "首次", "非重复", "不重复"}


def text(value: Any) -> str:
    """A cell as the user sees it: numbers without a spurious ``.0``, dates in ISO form, whitespace trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def when(value: Any) -> datetime | None:
    """A date or date-time cell as an aware datetime (Asia/Shanghai when the file gives no zone), or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=SHANGHAI)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _COMPACT_DATE.match(text(value)):
            return when(text(value))
        if not _SERIALS[0] <= value <= _SERIALS[1]:
            raise ValueError("日期格式不正确")
        return (_EXCEL_EPOCH + timedelta(days=float(value))).replace(microsecond=0, tzinfo=SHANGHAI)
    raw = str(value).strip()
    m = _DATE.match(raw) or _COMPACT_DATE.match(raw)
    if m is None:
        raise ValueError(f"日期格式不正确：「{raw}」（可用格式如 2026-11-23、2026/11/23 10:00、2026年11月23日）")
    parts = [int(p) if p else 0 for p in m.groups()] + [0, 0, 0]
    try:
        return datetime(*parts[:6], tzinfo=SHANGHAI)  # type: ignore[misc]
    except ValueError:
        raise ValueError(f"日期不存在：「{raw}」") from None


def end_of_day(moment: datetime) -> datetime:
    """The last second of ``moment``'s day in Asia/Shanghai (a deadline day is counted whole)."""
    return deadlines.end_of_day(moment, 0)


def flag(value: Any) -> bool:
    raw = text(value).lower()
    if not raw or raw in _NO:
        return False
    if raw in _YES:
        return True
    raise ValueError(f"应填写「是」或「否」，而不是「{text(value)}」")


def source(value: Any) -> str:
    raw = text(value)
    if not raw:
        return SOURCES[0]
    for known in SOURCES:
        if raw.startswith(known):
            return known
    raise ValueError(f"来源「{raw}」无效，应为 {'、'.join(SOURCES)} 之一")
