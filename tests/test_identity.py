"""ID number, phone and plate validation; PII masks. Property-based where the rule allows it."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from backend.audit.pii import PiiKind, mask
from backend.directory.identity import (
    id_check_digit,
    id_number_problem,
    is_valid_id_number,
    normalise_phone,
    phone_problem,
    plate_problem,
)


def test_given_published_example_when_checking_then_valid() -> None:
    # GB 11643-1999 worked example
    assert id_check_digit("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")  # lower-case x accepted, normalised
    assert id_number_problem("110105194912310021") == "身份证号码校验位错误"


ids = st.builds(
    lambda region, born, seq: f"{region}{born:%Y%m%d}{seq:03d}",
    st.integers(110000, 659999).map(str),
    st.dates(date(1920, 1, 1), date(2020, 12, 31)),
    st.integers(0, 999),
).map(lambda first17: first17 + id_check_digit(first17))


@given(ids)
def test_given_any_well_formed_id_when_checking_then_valid(value: str) -> None:
    assert is_valid_id_number(value)


@given(ids, st.integers(0, 16), st.integers(1, 9))
def test_given_valid_id_when_one_digit_changes_then_invalid(value: str, pos: int, delta: int) -> None:
    changed = value[:pos] + str((int(value[pos]) + delta) % 10) + value[pos + 1:]
    assert not is_valid_id_number(changed)  # the check digit catches every single-digit error


@given(st.text(max_size=40))
def test_given_arbitrary_text_when_checking_then_no_crash(value: str) -> None:
    assert id_number_problem(value) is None or isinstance(id_number_problem(value), str)
    assert phone_problem(value) is None or isinstance(phone_problem(value), str)
    assert plate_problem(value) is None or isinstance(plate_problem(value), str)


mobiles = st.builds(lambda p, rest: f"1{p}{rest:09d}", st.integers(3, 9), st.integers(0, 999_999_999))


NOTATIONS = [
    lambda m: m, lambda m: f"+86{m}", lambda m: f"+86 {m}", lambda m: f"0086{m}",
    lambda m: f"{m[:3]} {m[3:7]} {m[7:]}", lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}", lambda m: f" {m}\t",
]


@given(mobiles, st.sampled_from(NOTATIONS))
def test_given_mobile_in_any_common_notation_when_normalised_then_eleven_digits(mobile: str, notation) -> None:  # type: ignore[no-untyped-def]
    written = notation(mobile)
    assert phone_problem(written) is None
    assert normalise_phone(written) == mobile


def test_given_landlines_when_normalised_then_area_code_separated() -> None:
    assert normalise_phone("01062345678") == "010-62345678"
    assert normalise_phone("0755-86001234") == "0755-86001234"
    assert normalise_phone("075586001234") == "0755-86001234"
    assert phone_problem("12345") is not None
    assert phone_problem("2380013800") is not None


def test_given_plates_when_checking_then_format_enforced() -> None:
    assert plate_problem("京A12345") is None
    assert plate_problem("粤BD12345") is None  # new-energy
    assert plate_problem("沪AI2345") is not None  # I is never used
    assert plate_problem("A12345") is not None


@given(ids)
def test_given_id_number_when_masked_then_only_region_and_last_four_show(value: str) -> None:
    masked = mask(PiiKind.id_number, value)
    assert masked == value[:6] + "********" + value[-4:]
    assert value[6:14] not in masked  # the birth date never shows


@given(mobiles)
def test_given_mobile_when_masked_then_middle_four_hidden(mobile: str) -> None:
    assert mask(PiiKind.phone, mobile) == mobile[:3] + "****" + mobile[-4:]


def test_given_bank_account_and_landline_when_masked_then_last_four_only() -> None:
    assert mask(PiiKind.bank_account, "6222020200112233445") == "****3445"
    assert mask(PiiKind.phone, "010-62345678") == "010-****5678"
    assert mask(PiiKind.phone, "") == ""
