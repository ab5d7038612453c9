"""Mandarin number reading: fixed examples of every rule, and Hypothesis round-trips through a tiny
reader (prompt ids → value) so that any number is read correctly, not only the examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.flows import speech
from ivr.flows.speech import read_amount, read_date, read_digits, read_integer, read_number
from tests.test_ivr_flows_fakes import CATALOG

VALUES = {**{speech.DIGITS[d]: d for d in range(10)}, speech.LIANG: 2}
SMALL_UNITS = {speech.SHI: 10, speech.BAI: 100, speech.QIAN: 1000}


def text(ids: list[str]) -> str:
    return "".join(CATALOG.texts[i] for i in ids)


def parse_integer(ids: list[str]) -> int:
    """The tiny reader: 万 and 亿 close a group; 十 alone counts one ten."""
    big = mid = small = 0
    pending: int | None = None
    for piece in ids:
        if piece in VALUES:
            pending = VALUES[piece]
        elif piece in SMALL_UNITS:
            small += (1 if pending is None else pending) * SMALL_UNITS[piece]
            pending = None
        elif piece == speech.WAN:
            mid += (small + (pending or 0)) * 10_000
            small, pending = 0, None
        elif piece == speech.YI:
            big = (big + mid + small + (pending or 0)) * 100_000_000
            mid = small = 0
            pending = None
        else:
            raise AssertionError(f"unexpected piece {piece}")
    return big + mid + small + (pending or 0)


def parse_amount(ids: list[str]) -> Decimal:
    total = Decimal(0)
    if speech.YUAN in ids:
        at = ids.index(speech.YUAN)
        total += parse_integer(ids[:at])
        ids = ids[at + 1:]
    ids = [i for i in ids if i not in (speech.ZERO, speech.ZHENG)]
    for value, unit in zip(ids[::2], ids[1::2], strict=True):
        total += Decimal(VALUES[value]) * (Decimal("0.1") if unit == speech.JIAO else Decimal("0.01"))
    return total


@pytest.mark.parametrize(("number", "spoken"), [
    (0, "零"), (2, "二"), (10, "十"), (15, "十五"), (20, "二十"), (22, "二十二"), (110, "一百一十"),
    (200, "两百"), (1005, "一千零五"), (1010, "一千零一十"), (1200, "一千二百"), (2000, "两千"),
    (2222, "两千二百二十二"), (10005, "一万零五"), (12000, "一万两千"), (20000, "两万"), (100000, "十万"),
    (101000, "十万一千"), (120000, "十二万"), (220000, "二十二万"), (100500, "十万零五百"),
    (20200, "两万零二百"), (100000001, "一亿零一"), (100010000, "一亿零一万"), (200000000, "两亿"),
    (120000000, "一亿两千万"), (10**12, "一万亿"), (1_0001_0000_0000, "一万零一亿"),
])
def test_given_an_integer_when_read_then_the_chinese_is_natural(number: int, spoken: str) -> None:
    assert text(read_integer(number)) == spoken


@pytest.mark.parametrize(("amount", "spoken"), [
    ("1234.50", "一千二百三十四元五角"), ("1234", "一千二百三十四元整"), ("1234.05", "一千二百三十四元零五分"),
    ("1234.56", "一千二百三十四元五角六分"), ("0.50", "五角"), ("0.05", "五分"), ("0", "零元整"),
    ("10.5", "十元五角"), ("3.456", "三元四角六分"),
])
def test_given_an_amount_when_read_then_yuan_jiao_fen(amount: str, spoken: str) -> None:
    assert text(read_amount(amount)) == spoken


def test_given_a_date_when_read_then_year_digits_month_and_day() -> None:
    assert text(read_date(date(2026, 11, 23))) == "二零二六年十一月二十三日"
    assert text(read_date("2027-02-05")) == "二零二七年二月五日"


def test_given_a_phone_number_when_read_as_digits_then_one_is_yao() -> None:
    assert text(read_digits("13800000001")) == "幺三八零零零零零零零幺"
    assert text(read_digits("123X", yao=False)) == "一二三叉"


def test_given_a_decimal_when_read_as_number_then_dian_and_digits() -> None:
    assert text(read_number("3.14")) == "三点一四" and text(read_number("-2")) == "负二"


def test_given_the_catalogue_when_checked_then_it_holds_every_number_piece() -> None:
    assert speech.PROMPT_IDS <= set(CATALOG.texts)


def test_given_a_number_too_large_when_read_then_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        read_integer(speech.LIMIT)


@given(st.integers(min_value=0, max_value=speech.LIMIT - 1))
def test_given_any_integer_when_read_then_the_reader_gets_it_back_and_zeros_are_well_placed(number: int) -> None:
    ids = read_integer(number)
    assert parse_integer(ids) == number
    if number:
        assert ids[-1] != speech.ZERO
        assert all(not (a == b == speech.ZERO) for a, b in zip(ids, ids[1:], strict=False))
        assert all(b not in SMALL_UNITS for a, b in zip(ids, ids[1:], strict=False) if a == speech.ZERO)


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_given_any_amount_when_read_then_the_reader_gets_it_back(amount: Decimal) -> None:
    assert parse_amount(read_amount(amount)) == amount


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_given_any_date_when_read_then_it_ends_with_the_day_and_every_piece_exists(day: date) -> None:
    ids = read_date(day)
    assert ids[-1] == speech.RI and set(ids) <= set(CATALOG.texts)
    month_at = ids.index(speech.NIAN)
    assert parse_integer(ids[month_at + 1:ids.index(speech.YUE)]) == day.month


@given(st.text(max_size=30))
def test_given_any_text_when_read_as_digits_then_no_crash(value: str) -> None:
    assert set(read_digits(value)) <= speech.PROMPT_IDS
