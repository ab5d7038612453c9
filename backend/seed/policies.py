"""Demo policies, with statuses that agree with their dates.

Rules the generated data keeps (``as_of`` is "today"; every timestamp lies before it begins in Beijing):

- ``cooling_off`` exactly for long-term (term other than one year) life-line policies signed fewer than
  15 days before ``as_of`` (犹豫期);
- ``in_force``: effective_date ≤ as_of ≤ expiry_date (no expiry = whole life);
- ``matured``: expiry_date < as_of;
- ``lapsed``: a regular-premium policy whose premium fell due 60–730 days ago unpaid; next_premium_date
  is that missed date;
- ``surrendered`` / ``terminated``: effective_date ≤ as_of, ended early;
- ``premium`` is one installment (the whole premium when paid in one go); next_premium_date is set for
  regular-premium policies still paying, at most 60 days (the grace period) in the past.

A motor holder's second policy is often the companion of the first (交强险 beside 商业险 on the same car
and dates) or last year's term on the same car, so a plate finds a small history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from backend.directory.codes import LIFE_LINES
from backend.seed.catalog import (
    CHANNELS_BY_LINE,
    COMPULSORY_MOTOR_PREFIX,
    LINE_WEIGHTS,
    PC_POLICY_PREFIX,
    PRODUCTS,
    VIN_WMIS,
    Product,
)
from backend.seed.common import Weighted, add_months, add_years, beijing_moment, digits, money
from backend.seed.orgs import Outlet
from backend.seed.people import Person, Pools, Registry

COOLING_OFF_DAYS = 15
GRACE_DAYS = 60
LAPSE_WINDOW_DAYS = 730  # after two years a lapsed policy can no longer be reinstated

_STEP_MONTHS = {"single": 0, "annual": 12, "semiannual": 6, "monthly": 1}
_HEALTH_AND_LIFE = LIFE_LINES | {"accident"}
# How often someone other than the holder (a household member) is the insured, per line.
_INSURED_OTHER = {
    "motor": 0.05, "medical": 0.35, "critical_illness": 0.35, "accident": 0.3, "life": 0.25, "participating": 0.2,
    "universal": 0.1, "annuity": 0.2, "unit_linked": 0.05, "property_other": 0.0, "surety": 0.0,
}
_LEAD_DAYS = (0, 1, 1, 1, 2, 3, 5, 7, 10, 15, 20, 30)  # signing to cover start, short-term business

_LINE = Weighted(LINE_WEIGHTS)
_HOLDINGS = Weighted([(0, 8), (1, 35), (2, 30), (3, 17), (4, 6), (5, 3), (6, 1)])
_CHANNEL = {line: Weighted(pairs) for line, pairs in CHANNELS_BY_LINE.items()}
_ENDED = Weighted([("matured", 90), ("surrendered", 6), ("terminated", 4)])
_SHORT_ACTIVE = Weighted([("in_force", 95), ("surrendered", 3), ("terminated", 2)])
_PAYING = Weighted([("in_force", 86), ("lapsed", 7), ("surrendered", 6), ("terminated", 1)])
_PAID_UP = Weighted([("in_force", 92), ("surrendered", 7), ("terminated", 1)])
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_LETTER_COUNT = Weighted([(0, 45), (1, 40), (2, 15)])
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model-year codes from 2010, a 30-year cycle


def _plate(rng: random.Random, outlet: Outlet) -> str:
    head = outlet.branch.plate_province + rng.choice(outlet.central.plate_letters)
    if rng.random() < 0.15:  # new-energy plate: D (electric) or F (hybrid) + 5
        return head + rng.choice("DF") + digits(rng, 5)
    chars = list(digits(rng, 5))
    for pos in rng.sample(range(5), _PLATE_LETTER_COUNT.pick(rng)):
        chars[pos] = rng.choice(_PLATE_LETTERS)
    return head + "".join(chars)


def _vin(rng: random.Random, model_year: int) -> str:
    """A 17-character VIN (no I, O, Q) with a correct check digit in position 9 (GB 16735)."""
    body = (rng.choice(VIN_WMIS) + "".join(rng.choice(_VIN_CHARS) for _ in range(5)) + "0"
            + _VIN_YEARS[(model_year - 2010) % 30] + rng.choice(_VIN_CHARS) + digits(rng, 6))
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(body, _VIN_WEIGHTS, strict=True)) % 11
    return body[:8] + ("X" if remainder == 10 else str(remainder)) + body[9:]


@dataclass
class _Vehicle:
    plate: str
    vin: str
    model_year: int
    earliest: tuple[date, date]  # (signed, effective) of its oldest policy term
    latest: tuple[date, date]
    latest_sold: list[bool]  # compulsory_motor of the products sold for the latest term


@dataclass
class _Schedule:
    effective: date
    step: int  # months between installments; 0 = single premium
    total: int  # installments over the whole payment term

    def due(self, k: int) -> date:
        return add_months(self.effective, k * self.step)

    def first_due_on_or_after(self, day: date) -> int:
        """Index of the first installment due on or after ``day`` (installment 0 is paid at signing)."""
        k = max(1, ((day.year - self.effective.year) * 12 + day.month - self.effective.month) // self.step)
        while self.due(k) < day:
            k += 1
        while k > 1 and self.due(k - 1) >= day:
            k -= 1
        return k


class PolicyMaker:
    """Builds the policies of a seed; ``first_seen`` ends up holding when each customer's first policy was entered."""

    def __init__(self, rng: random.Random, pools: Pools, registry: Registry, people: list[Person],
                 outlets: list[Outlet], as_of: date) -> None:
        self.rng = rng
        self.pools = pools
        self.registry = registry
        self.people = people
        self.outlets = outlets
        self.as_of = as_of
        self.first_seen: list[datetime | None] = [None] * len(people)
        self.households: dict[int, list[int]] = {}
        for p in people:
            self.households.setdefault(p.household, []).append(p.index)
        self.branch_outlets: dict[int, list[int]] = {}
        for i, o in enumerate(outlets):
            self.branch_outlets.setdefault(o.branch_org_id, []).append(i)
        self.agents = [[(pools.full_name(rng, rng.random() < 0.45), f"A{o.code}{n:02d}") for n in range(1, 7)]
                       for o in outlets]
        self.telesales = [(pools.full_name(rng, rng.random() < 0.4), f"DX{rng.randrange(10**6):06d}")
                          for _ in range(12)]
        self.garages: dict[int, list[_Vehicle]] = {}
        self._eligible: dict[tuple[str, int], Weighted[Product] | None] = {}
        self._plans = {p.name: Weighted([(plan, plan[2]) for plan in p.plans]) for ps in PRODUCTS.values() for p in ps}

    def holder_slots(self, count: int) -> list[int]:
        """Person index of the holder of each policy: most customers hold 1–3, a few none or more."""
        n = len(self.people)
        counts = [_HOLDINGS.pick(self.rng) for _ in range(n)]
        total = sum(counts)
        while total < count:
            counts[self.rng.randrange(n)] += 1
            total += 1
        while total > count:
            i = self.rng.randrange(n)
            if counts[i]:
                counts[i] -= 1
                total -= 1
        slots = [i for i, c in enumerate(counts) for _ in range(c)]
        self.rng.shuffle(slots)
        return slots

    def products_for(self, line: str, age: int) -> Weighted[Product] | None:
        key = (line, age)
        if key not in self._eligible:
            fits = [(p, p.weight) for p in PRODUCTS[line] if p.min_age <= age <= p.max_age]
            self._eligible[key] = Weighted(fits) if fits else None
        return self._eligible[key]

    def make(self, count: int) -> list[dict[str, Any]]:
        rows = [self._policy(self.people[h]) for h in self.holder_slots(count)]
        rows.sort(key=lambda r: (r["created_at"], r["policy_number"]))
        for new_id, row in enumerate(rows, start=1):
            row["id"] = new_id
        return rows

    def _choose(self, holder: Person) -> tuple[str, Person, Product]:
        rng = self.rng
        for _ in range(4):
            line = _LINE.pick(rng)
            insured = holder
            others = [i for i in self.households[holder.household] if i != holder.index]
            if others and rng.random() < _INSURED_OTHER[line]:
                insured = self.people[rng.choice(others)]
            products = self.products_for(line, insured.age)
            if products is not None:
                return line, insured, products.pick(rng)
        motor = self.products_for("motor", holder.age)
        assert motor is not None  # motor products have no age limits
        return "motor", holder, motor.pick(rng)

    def _dates(self, line: str, term: int | None) -> tuple[date, date]:
        rng = self.rng
        if term == 1:
            days_ago = rng.randrange(1, 366) if rng.random() < 0.64 else rng.randrange(366, 1096)
        elif rng.random() < 0.05:
            days_ago = rng.randrange(1, COOLING_OFF_DAYS)
        else:
            days_ago = COOLING_OFF_DAYS + int(rng.random() ** 1.7 * 12 * 365)
        signed = self.as_of - timedelta(days=days_ago)
        if line in LIFE_LINES and term != 1:
            return signed, signed + timedelta(days=1)  # 次日零时生效
        return signed, signed + timedelta(days=min(rng.choice(_LEAD_DAYS), days_ago))

    def _motor(self, holder: Person, outlet: Outlet, product: Product) -> tuple[_Vehicle, Product, date, date]:
        rng = self.rng
        garage = self.garages.setdefault(holder.index, [])
        if garage and rng.random() < 0.7:
            car = rng.choice(garage)
            missing = [p for p in PRODUCTS["motor"] if p.compulsory_motor not in car.latest_sold]
            if missing:
                car.latest_sold.append(missing[0].compulsory_motor)
                return car, missing[0], *car.latest
            signed, effective = (add_years(d, -1) for d in car.earliest)
            if signed.year >= car.model_year:
                car.earliest = (signed, effective)
                return car, product, signed, effective
        signed, effective = self._dates("motor", 1)
        model_year = min(signed.year, self.as_of.year - rng.randint(0, 9))
        car = _Vehicle(self.registry.unique("plate", lambda: _plate(rng, outlet)),
                       self.registry.unique("vin", lambda: _vin(rng, model_year)), model_year,
                       (signed, effective), (signed, effective), [product.compulsory_motor])
        garage.append(car)
        return car, product, signed, effective

    def _status(self, line: str, term: int | None, signed: date, expiry: date | None,
                plan: _Schedule) -> tuple[str, date | None]:
        rng, as_of = self.rng, self.as_of
        regular = plan.step > 0
        if line in LIFE_LINES and term != 1 and (as_of - signed).days < COOLING_OFF_DAYS:
            status = "cooling_off"
        elif expiry is not None and expiry < as_of:
            return _ENDED.pick(rng), None
        elif term == 1 and not regular:
            return _SHORT_ACTIVE.pick(rng), None
        elif regular and plan.first_due_on_or_after(as_of) < plan.total:
            status = _PAYING.pick(rng)
        else:
            status = _PAID_UP.pick(rng)
        if not regular or status in ("surrendered", "terminated"):
            return status, None
        nxt = plan.first_due_on_or_after(as_of)
        if status == "lapsed":
            hi = nxt - 1
            while hi >= 1 and plan.due(hi) > as_of - timedelta(days=GRACE_DAYS):
                hi -= 1
            lo = hi
            while lo > 1 and plan.due(lo - 1) >= as_of - timedelta(days=LAPSE_WINDOW_DAYS):
                lo -= 1
            if hi >= 1 and plan.due(hi) >= as_of - timedelta(days=LAPSE_WINDOW_DAYS):
                return "lapsed", plan.due(rng.randint(lo, hi))
            status = "in_force"
        if nxt >= plan.total:
            return status, None
        if status == "in_force" and nxt > 1 and rng.random() < 0.06 \
                and plan.due(nxt - 1) >= as_of - timedelta(days=GRACE_DAYS):
            return status, plan.due(nxt - 1)  # in the grace period, premium not yet paid
        return status, plan.due(nxt)

    def _amounts(self, line: str, product: Product, insured: Person, term: int | None, pay_years: int,
                 step: int) -> tuple[Decimal, Decimal]:
        rng = self.rng
        periods = 12 // step if step else 1
        if product.fixed_premiums:
            return money(rng.choice(product.fixed_premiums)), money(product.amounts[0])
        if product.savings:
            yearly = float(rng.choice(product.amounts))
            total = yearly * pay_years if step else yearly * product.single_factor
            sum_insured = total * rng.uniform(*product.ratio)
            return money(total / periods / pay_years if step else total), money(round(sum_insured, -2))
        base = float(rng.choice(product.amounts))
        lo, hi = product.ratio
        if term == 1:
            # One-year cover is priced on this year's risk, which climbs with age.
            age_factor = 0.6 + insured.age / 50 if line in _HEALTH_AND_LIFE else 1.0
            total = base * rng.uniform(lo, hi) * age_factor
        else:
            # Long-term cover: the older the insured at purchase, the nearer the top of the range.
            position = min(1.0, max(0.0, (insured.age - 18) / 50 + rng.uniform(-0.1, 0.1)))
            total = base * (lo + (hi - lo) * position)
        if line == "motor":
            base += round(rng.uniform(60_000, 400_000), -3)  # 车损 cover: the car's value, beside 三者 cover
        yearly = total / pay_years if step else total
        return money(yearly / periods), money(base)

    def _number(self, line: str, product: Product, outlet: Outlet, signed: date) -> str:
        rng = self.rng
        if line in LIFE_LINES:
            head = f"P{outlet.branch.region_code[:2]}{signed.year % 100:02d}"
            return self.registry.unique("policy", lambda: head + digits(rng, 8))
        prefix = COMPULSORY_MOTOR_PREFIX if product.compulsory_motor else PC_POLICY_PREFIX[line]
        return self.registry.unique("policy", lambda: f"{prefix}{signed.year}{digits(rng, 10)}")

    def _policy(self, holder: Person) -> dict[str, Any]:
        rng = self.rng
        line, insured, product = self._choose(holder)
        where = holder.outlet
        if rng.random() < 0.08:
            where = rng.choice(self.branch_outlets[self.outlets[holder.outlet].branch_org_id])
        outlet = self.outlets[where]
        term = rng.choice(product.terms)
        freq, pay_years, _ = self._plans[product.name].pick(rng)
        if term is not None:
            pay_years = min(pay_years, term)
        plate = vin = None
        if line == "motor":
            car, product, signed, effective = self._motor(holder, outlet, product)
            plate, vin = car.plate, car.vin
        else:
            signed, effective = self._dates(line, term)
        expiry = None if term is None else add_years(effective, term) - timedelta(days=1)
        step = _STEP_MONTHS[freq]
        plan = _Schedule(effective, step, pay_years * 12 // step if step else 1)
        status, next_due = self._status(line, term, signed, expiry, plan)
        premium, sum_insured = self._amounts(line, product, insured, term, pay_years, step)
        channel = product.channel or _CHANNEL[line].pick(rng)
        agent: tuple[str | None, str | None] = (None, None)
        if channel == "电销":
            agent = rng.choice(self.telesales)
        elif channel != "网销":
            agent = rng.choice(self.agents[where])
        created = beijing_moment(signed, rng, first_hour=8, last_hour=21)
        for person in (holder, insured):
            seen = self.first_seen[person.index]
            if seen is None or created < seen:
                self.first_seen[person.index] = created
        return {
            "policy_number": self._number(line, product, outlet, signed),
            "org_id": outlet.org_id,
            "line": line,
            "product_name": product.name,
            "status": status,
            # Person indexes until the customers get their ids (see remap_customers).
            "holder_id": holder.index,
            "insured_id": insured.index,
            "signed_date": signed,
            "effective_date": effective,
            "expiry_date": expiry,
            "premium": premium,
            "sum_insured": sum_insured,
            "payment_frequency": freq,
            "payment_years": pay_years,
            "next_premium_date": next_due,
            "sales_channel": channel,
            "sales_agent_name": agent[0],
            "sales_agent_code": agent[1],
            "plate_number": plate,
            "vin": vin,
            "created_at": created,
        }


def remap_customers(policies: list[dict[str, Any]], people: list[Person]) -> None:
    """Swap the person indexes in holder_id / insured_id for the customers' final ids."""
    for row in policies:
        row["holder_id"] = people[row["holder_id"]].row["id"]
        row["insured_id"] = people[row["insured_id"]].row["id"]
