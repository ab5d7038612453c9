"""Demo people: name and street pools drawn once from Faker, unique identifiers, and customers in households.

Faker is only asked for pools (a few thousand draws); every customer is then put together with the
seeded ``random.Random``, which is much faster and keeps the whole seed reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker

from backend.directory.codes import RISK_FLAGS
from backend.directory.identity import id_check_digit
from backend.seed.catalog import BANK_CARDS, CUSTOMER_LEVELS, EMAIL_DOMAINS, MIGRANT_COUNTIES, MOBILE_PREFIXES
from backend.seed.common import Weighted, add_years, age_on, beijing_moment, digits, luhn_digit
from backend.seed.orgs import Outlet

MIN_AGE = 18
MAX_AGE = 85
ELDERLY_AGE = 60


@dataclass
class Pools:
    """Values drawn from Faker once; duplicates are kept so common surnames stay common."""

    surnames: list[str]
    male_given: list[str]
    female_given: list[str]
    streets: list[str]
    user_names: list[str]

    @classmethod
    def draw(cls, fake: Faker) -> Pools:
        # Faker's zh_CN street names include odd ones like "刘街"; the city-named ones ("汕尾路") read true.
        streets = [s for s in (fake.street_name() for _ in range(1500)) if len(s) >= 3]
        return cls(
            surnames=[fake.last_name() for _ in range(3000)],
            male_given=[fake.first_name_male() for _ in range(1200)],
            female_given=[fake.first_name_female() for _ in range(1200)],
            streets=streets,
            user_names=[fake.user_name() for _ in range(1500)],
        )

    def given_name(self, rng: random.Random, male: bool) -> str:
        return rng.choice(self.male_given if male else self.female_given)

    def full_name(self, rng: random.Random, male: bool) -> str:
        return rng.choice(self.surnames) + self.given_name(rng, male)


@dataclass
class Registry:
    """Values that must be unique across the whole seed (ID numbers, mobiles, plates, policy numbers…)."""

    taken: dict[str, set[str]] = field(default_factory=dict)

    def unique(self, kind: str, make: Callable[[], str]) -> str:
        seen = self.taken.setdefault(kind, set())
        while (value := make()) in seen:
            pass
        seen.add(value)
        return value

    def id_number(self, rng: random.Random, region: str, birth: date, male: bool) -> str:
        def make() -> str:
            # 顺序码: odd for men, even for women.
            seq = rng.randrange(0, 500) * 2 + 1 if male else rng.randrange(1, 500) * 2
            first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            return first17 + id_check_digit(first17)

        return self.unique("id_number", make)

    def mobile(self, rng: random.Random) -> str:
        return self.unique("mobile", lambda: _MOBILE_PREFIX.pick(rng) + digits(rng, 8))


_MOBILE_PREFIX = Weighted(MOBILE_PREFIXES)
_BANK = Weighted([(card, 1) for card in BANK_CARDS])
_DOMAIN = Weighted(EMAIL_DOMAINS)
_LEVEL = Weighted(CUSTOMER_LEVELS)
_HOUSEHOLD_SIZE = Weighted([(1, 50), (2, 32), (3, 14), (4, 4)])


@dataclass
class Person:
    """A customer while the seed is being built; ``row`` becomes the ``customers`` row."""

    index: int
    outlet: int  # index into the outlet list
    household: int
    male: bool
    birth: date
    age: int
    row: dict[str, Any]


def _birth_for_age(rng: random.Random, as_of: date, age: float) -> date:
    """A birth date giving an age of ``age`` (fractional years) on ``as_of``, always within 18–85."""
    youngest = add_years(as_of, -MIN_AGE)
    oldest = add_years(as_of, -(MAX_AGE + 1)) + timedelta(days=1)
    back = int((age - MIN_AGE) * 365.2425 + rng.random())
    return youngest - timedelta(days=min(max(back, 0), (youngest - oldest).days))


def _address(rng: random.Random, pools: Pools, outlet: Outlet) -> str:
    street = rng.choice(pools.streets)
    number = rng.randint(1, 399)
    floor, flat = rng.randint(1, 28), rng.randint(1, 4)
    style = outlet.branch.street_style
    if style == "bj":
        return f"{outlet.spec.district}{street}{number}号院{rng.randint(1, 12)}号楼{rng.randint(1, 6)}单元{floor}0{flat}室"
    if style == "sh":
        return f"{outlet.spec.district}{street}{number}弄{rng.randint(1, 40)}号{floor}0{flat}室"
    return f"{outlet.spec.district}{street}{number}号{rng.randint(1, 20)}栋{floor}0{flat}房"


def _landline(rng: random.Random, outlet: Outlet) -> str:
    central = outlet.central
    return f"{central.area_code}-{rng.choice(central.landline_leads)}{digits(rng, 7)}"


def _email(rng: random.Random, pools: Pools) -> str:
    if rng.random() < 0.45:
        return f"{rng.randint(10_001, 3_999_999_999)}@qq.com"
    suffix = str(rng.randint(1, 999)) if rng.random() < 0.6 else ""
    return f"{rng.choice(pools.user_names)}{suffix}@{_DOMAIN.pick(rng)}"


def _bank_account(rng: random.Random) -> str:
    bin_, length = _BANK.pick(rng)
    body = bin_ + digits(rng, length - len(bin_) - 1)
    return body + luhn_digit(body)


def _region(rng: random.Random, outlet: Outlet) -> str:
    """Birthplace county for the ID number: mostly local, some from elsewhere in the province, some migrants."""
    roll = rng.random()
    if roll < 0.72:
        return outlet.spec.region_code
    if roll < 0.85:
        return rng.choice(outlet.branch.home_counties)
    return rng.choice(MIGRANT_COUNTIES)


def _relative_ages(rng: random.Random, head_age: int, head_male: bool, size: int) -> list[tuple[bool, int, bool]]:
    """(male, age, shares the head's surname) for the other members: spouse, then a grown child or a parent.

    A child takes the father's surname (the head's when the head is a man); a parent shares it when male."""
    out: list[tuple[bool, int, bool]] = []
    if size >= 2:
        # Husbands tend to be a few years older than their wives.
        out.append((not head_male, head_age + rng.randint(-3, 6) * (-1 if head_male else 1), False))
    for _ in range(size - 2):
        child_age = head_age - rng.randint(23, 34)
        male = rng.random() < 0.5
        if child_age >= MIN_AGE:
            out.append((male, child_age, head_male))
        else:
            out.append((male, head_age + rng.randint(23, 34), male))
    return out


def make_customers(rng: random.Random, pools: Pools, registry: Registry, outlets: list[Outlet], count: int,
                   as_of: date) -> list[Person]:
    outlet_pick = Weighted([(i, rng.uniform(0.5, 1.8)) for i in range(len(outlets))])
    people: list[Person] = []
    household = 0
    while len(people) < count:
        where = outlet_pick.pick(rng)
        outlet = outlets[where]
        size = min(_HOUSEHOLD_SIZE.pick(rng), count - len(people))
        head_male = rng.random() < 0.55
        head_age = int(rng.triangular(22, MAX_AGE + 1, 42))
        surname = rng.choice(pools.surnames)
        address = _address(rng, pools, outlet)
        landline = _landline(rng, outlet) if rng.random() < 0.3 else None
        members = [(head_male, head_age, True), *_relative_ages(rng, head_age, head_male, size)]
        for male, age, same_surname in members:
            if not MIN_AGE <= age <= MAX_AGE:
                age = int(rng.triangular(MIN_AGE, MAX_AGE + 1, 40))
            birth = _birth_for_age(rng, as_of, age + rng.random())
            name = (surname if same_surname else rng.choice(pools.surnames)) + pools.given_name(rng, male)
            people.append(_person(rng, pools, registry, len(people), where, outlet, household, male, birth, name,
                                  address, landline, as_of))
        household += 1
    return people


def _person(rng: random.Random, pools: Pools, registry: Registry, index: int, where: int, outlet: Outlet,
            household: int, male: bool, birth: date, name: str, address: str, landline: str | None,
            as_of: date) -> Person:
    age = age_on(birth, as_of)
    level = _LEVEL.pick(rng)
    flags = {
        "repeat_complainant": rng.random() < 0.02,
        "regulator_words": rng.random() < 0.012,
        "proxy_surrender": rng.random() < 0.008,
        "vip": level == "vip",
        "elderly": age >= ELDERLY_AGE,
    }
    row: dict[str, Any] = {
        "org_id": outlet.org_id,
        "name": name,
        "gender": "M" if male else "F",
        "birth_date": birth,
        "id_type": "resident_id",
        "id_number": registry.id_number(rng, _region(rng, outlet), birth, male),
        "mobile": registry.mobile(rng),
        "phone": landline,
        "email": _email(rng, pools) if rng.random() < 0.35 else None,
        "address": address,
        "bank_account": _bank_account(rng) if rng.random() < 0.6 else None,
        "level": level,
        # In code-table order, so the list reads the same on every run.
        "risk_flags": [code for code in RISK_FLAGS if flags[code]],
    }
    return Person(index, where, household, male, birth, age, row)


def stamp_customers(rng: random.Random, people: list[Person], first_seen: list[datetime | None], as_of: date,
                    now: datetime) -> list[dict[str, Any]]:
    """Give each customer its timestamps and its id, oldest first; returns the rows in id order.

    A customer is registered shortly before their first policy (as holder or insured) is entered; one
    without policies some time in the last ten years. ``row["id"]`` is set on every person.
    """
    for person in people:
        seen = first_seen[person.index]
        if seen is not None:
            created = seen - timedelta(minutes=rng.randint(5, 120))
        else:
            created = beijing_moment(as_of - timedelta(days=rng.randint(1, 3650)), rng)
        span = (now - created).total_seconds()
        updated = created if rng.random() < 0.6 else created + timedelta(seconds=int(span * rng.random()))
        person.row["created_at"] = created
        person.row["updated_at"] = updated
    ordered = sorted(people, key=lambda p: (p.row["created_at"], p.index))
    for new_id, person in enumerate(ordered, start=1):
        person.row["id"] = new_id
    return [p.row for p in ordered]
