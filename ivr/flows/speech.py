"""Mandarin reading of numbers, amounts and dates as sequences of prompt ids (number pieces of the
prompt catalogue), for the ``say`` node.

Rules chosen (and tested):
- digit strings (phone, policy numbers) are read one digit at a time, 1 as 幺 (``digit-1-yao``),
  because 一 and 七 are easily confused on the phone;
- integers use 十百千万亿 with one 零 for each run of zeros inside the number; a leading 一十 is read
  十 (10 → 十, 100000 → 十万, but 110 → 一百一十);
- 两 replaces 二 only where it is the natural choice: the first digit of a 4-digit group before
  千, 万 or 亿 (2000 → 两千, 12000 → 一万两千, 20000 → 两万), and the first digit of the whole
  number before 百 (200 → 两百, but 1200 → 一千二百); everywhere else 二 (2, 20, 12, 二十二万);
- amounts: 元 then 角 and 分; 整 when there is no fraction; 零 for a missing 角 before 分
  (1234.05 → 一千二百三十四元零五分); below one yuan the 元 is not read (0.50 → 五角);
- dates: year digit by digit (二零二六年), then month and day as integers (十一月二十三日).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

DIGITS = tuple(f"digit-{d}" for d in range(10))
YAO = "digit-1-yao"
LETTER_X = "letter-x"
SHI, BAI, QIAN, WAN, YI = "num-shi", "num-bai", "num-qian", "num-wan", "num-yi"
LIANG, DIAN, FU = "num-liang", "num-dian", "num-fu"
YUAN, JIAO, FEN, ZHENG = "unit-yuan", "unit-jiao", "unit-fen", "unit-zheng"
NIAN, YUE, RI = "unit-nian", "unit-yue", "unit-ri"
ZERO = DIGITS[0]

# Every prompt id this module can produce: the catalogue must hold them all.
PROMPT_IDS: frozenset[str] = frozenset(
    {*DIGITS, YAO, LETTER_X, SHI, BAI, QIAN, WAN, YI, LIANG, DIAN, FU, YUAN, JIAO, FEN, ZHENG, NIAN, YUE, RI})

_PLACE_UNITS = {3: [QIAN], 2: [BAI], 1: [SHI], 0: []}
LIMIT = 10 ** 16  # 9999万亿 is the largest number read


def read_digits(text: str, *, yao: bool = True) -> list[str]:
    """Each character on its own: ``0``–``9`` and ``X`` (ID numbers); anything else is skipped."""
    out: list[str] = []
    for char in text:
        if char == "1" and yao:
            out.append(YAO)
        elif char.isdigit() and char.isascii():
            out.append(DIGITS[int(char)])
        elif char in "Xx":
            out.append(LETTER_X)
    return out


def _read_group(group: int, *, whole_lead: bool, has_group_unit: bool) -> list[str]:
    """One 4-digit group (0 < group < 10000), without its 万/亿 unit."""
    out: list[str] = []
    started = pending_zero = False
    for place in (3, 2, 1, 0):
        digit = group // 10 ** place % 10
        if digit == 0:
            pending_zero = pending_zero or started
            continue
        if pending_zero:
            out.append(ZERO)
            pending_zero = False
        group_lead = not started
        if place == 1 and digit == 1 and whole_lead and group_lead:
            out.append(SHI)  # 十五, 十万: the leading 一 of 一十 is not said
        else:
            liang = digit == 2 and group_lead and (
                place == 3 or (place == 0 and has_group_unit) or (place == 2 and whole_lead))
            out.append(LIANG if liang else DIGITS[digit])
            out.extend(_PLACE_UNITS[place])
        started = True
    return out


def _read_positive(number: int, *, whole_lead: bool, before_unit: bool) -> list[str]:
    # Above 万 the high part is itself a number of 万 or 亿 (一万零一亿 = 10001 亿), so recurse.
    for unit_value, unit in ((10 ** 8, YI), (10 ** 4, WAN)):
        if number >= unit_value:
            high, low = divmod(number, unit_value)
            out = [*_read_positive(high, whole_lead=whole_lead, before_unit=True), unit]
            if low:
                if low < unit_value // 10:
                    out.append(ZERO)  # 一万零五, 一亿零一万
                out += _read_positive(low, whole_lead=False, before_unit=before_unit)
            return out
    return _read_group(number, whole_lead=whole_lead, has_group_unit=before_unit)


def read_integer(number: int) -> list[str]:
    if number < 0:
        return [FU, *read_integer(-number)]
    if number >= LIMIT:
        raise ValueError(f"{number} is too large to read (limit {LIMIT - 1})")
    if number == 0:
        return [ZERO]
    return _read_positive(number, whole_lead=True, before_unit=False)


def read_number(value: Decimal | int | str) -> list[str]:
    """An integer, or a decimal read with 点 and its fraction digit by digit (3.14 → 三点一四)."""
    number = Decimal(str(value))
    sign = [FU] if number < 0 else []
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    out = sign + read_integer(int(whole))
    fraction = fraction.rstrip("0")
    if fraction:
        out += [DIAN, *read_digits(fraction, yao=False)]
    return out


def read_amount(value: Decimal | int | str) -> list[str]:
    """Yuan, rounded to the fen: 1234.50 → 一千二百三十四元五角; 1234 → 一千二百三十四元整."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount < 0:
        return [FU, *read_amount(-amount)]
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if jiao == 0 and fen == 0:
        return [*read_integer(yuan), YUAN, ZHENG]
    out = [*read_integer(yuan), YUAN] if yuan else []
    if jiao:
        out += [DIGITS[jiao], JIAO]
    elif yuan:
        out.append(ZERO)
    if fen:
        out += [DIGITS[fen], FEN]
    return out


def read_date(value: date | str) -> list[str]:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return [*read_digits(f"{day.year:04d}", yao=False), NIAN, *read_integer(day.month), YUE,
            *read_integer(day.day), RI]


READERS = {"digits": read_digits, "number": read_number, "amount": read_amount, "date": read_date}


def speak(kind: str, value: str) -> list[str]:
    """The prompt ids for ``value`` (a rendered flow template) read as ``kind``."""
    return READERS[kind](value)
