"""Validation and normalisation of Chinese identity numbers, phone numbers and licence plates."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_PLATE_RE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5}[DF])$"
)


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    return raw.strip().replace(" ", "").upper()


def id_number_problem(raw: str) -> str | None:
    """Why an 18-digit 居民身份证号码 is invalid (Chinese, for the user), or None when it is valid."""
    value = normalise_id_number(raw)
    if not _ID_RE.match(value):
        return "身份证号码应为 18 位（前 17 位为数字，末位为数字或 X）"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if born.year < 1900 or born > date.today():
        return "身份证号码中的出生日期无效"
    if id_check_digit(value[:17]) != value[17]:
        return "身份证号码校验位错误"
    return None


def is_valid_id_number(raw: str) -> bool:
    return id_number_problem(raw) is None


def facts_of_id_number(value: str) -> tuple[date, str]:
    """Birth date and gender (``M``/``F``, from the parity of the sequence digits) of a valid ID number."""
    born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    return born, "M" if int(value[16]) % 2 else "F"


def normalise_phone(raw: str) -> str:
    """Strip spaces, dashes in mobiles and the +86/0086 prefix; keep landlines as ``0AA-NNNNNNNN``."""
    value = re.sub(r"[\s()（）]", "", raw.strip())
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):].lstrip("-")
    digits = value.replace("-", "")
    if _MOBILE_RE.match(digits):
        return digits
    if _LANDLINE_RE.match(value):
        if "-" in value:
            return value
        area_len = 3 if value[1] in "12" else 4  # 010, 02X are three digits; the rest four
        return f"{value[:area_len]}-{value[area_len:]}"
    return value


def phone_problem(raw: str) -> str | None:
    value = normalise_phone(raw)
    if _MOBILE_RE.match(value) or _LANDLINE_RE.match(value):
        return None
    return "电话号码格式不正确（手机号为 11 位，固话如 010-12345678）"


def plate_problem(raw: str) -> str | None:
    return None if _PLATE_RE.match(raw.strip().upper()) else "车牌号格式不正确"


def _checked(problem_of, normalise):  # type: ignore[no-untyped-def]
    def check(value: str) -> str:
        if problem := problem_of(value):
            raise ValueError(problem)
        return normalise(value)

    return check


# Input types for schemas: validated and normalised once, wherever a phone, ID or plate is accepted.
ValidPhone = Annotated[str, Field(max_length=32), AfterValidator(_checked(phone_problem, normalise_phone))]
ValidIdNumber = Annotated[str, Field(max_length=32), AfterValidator(_checked(id_number_problem, normalise_id_number))]
ValidPlate = Annotated[str, Field(max_length=16), AfterValidator(_checked(plate_problem, lambda v: v.strip().upper()))]
ValidEmail = Annotated[str, Field(max_length=128, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
