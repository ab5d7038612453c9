"""Small helpers shared by the seed modules: calendar arithmetic, Beijing-time timestamps, money, weighted picks.

Everything here is a pure function of its arguments (and of the ``random.Random`` handed in), so the
seed stays reproducible.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

# China has one time zone and no daylight saving: a fixed offset needs no tz database.
BEIJING = timezone(timedelta(hours=8), "CST")


class Weighted(Generic[T]):
    """Items with weights, cumulative sums precomputed (``rng.choices`` would rebuild them on every call)."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs:
            raise ValueError("Weighted needs at least one item")
        self.items: list[T] = [item for item, _ in pairs]
        self.cum: list[float] = list(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.items, cum_weights=self.cum)[0]


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def beijing_moment(day: date, rng: random.Random, *, first_hour: int = 9, last_hour: int = 18) -> datetime:
    """A UTC timestamp on ``day`` (Beijing calendar) during the given local hours, to the second."""
    seconds = rng.randrange(first_hour * 3600, last_hour * 3600)
    local = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), BEIJING)
    return local.astimezone(UTC)


def reference_moment(as_of: date) -> datetime:
    """The seed's "now": the start of ``as_of`` in Beijing. Every generated timestamp lies before it."""
    return datetime.combine(as_of, time(0, 0), BEIJING).astimezone(UTC)


def money(yuan: float) -> Decimal:
    """Yuan as a Decimal with exactly two places (via integer fen, so no binary-float digits leak in)."""
    return Decimal(round(yuan * 100)).scaleb(-2)


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    """Amounts such as claim sums: small ones common, large ones rare, all within [lo, hi]."""
    return lo * (hi / lo) ** rng.random()


def digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10**n):0{n}d}"


def luhn_digit(body: str) -> str:
    """Check digit that makes ``body + digit`` pass the Luhn test (bank card numbers use it)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)
