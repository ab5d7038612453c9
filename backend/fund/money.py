"""Money at the API edge: decimal yuan strings ("1234.50") outside, integer fen inside. Never floats."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MAX_FEN = 10_000_000_00  # 10,000,000.00 yuan per amount
_YUAN = re.compile(r"(\d{1,9})(?:\.(\d{1,2}))?")


def to_fen(value: Any) -> int:
    """"1234.5" / "1234.50" → 123450. Only strings: a JSON number has already been through a float."""
    if not isinstance(value, str):
        raise ValueError("金额须为字符串形式的元，例如 \"1234.50\"")
    match = _YUAN.fullmatch(value.strip())
    if match is None:
        raise ValueError("金额格式不正确：须为正数，最多两位小数，例如 \"1234.50\"")
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if fen <= 0:
        raise ValueError("金额须大于 0")
    if fen > MAX_FEN:
        raise ValueError("金额不能超过 10000000.00 元")
    return fen


def yuan(fen: int) -> str:
    """123450 → "1234.50" (negative totals keep their sign)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^\d{1,9}(\.\d{1,2})?$", "examples": ["1234.50"]})

# Input: a yuan string, validated and held as fen.
YuanIn = Annotated[int, BeforeValidator(to_fen), _SCHEMA]
# Output: fen held, shown as a yuan string with two places.
YuanOut = Annotated[int, PlainSerializer(yuan, return_type=str), WithJsonSchema({"type": "string", "examples": ["1234.50"]})]
