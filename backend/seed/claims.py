"""Demo claims: about 8% of the policies, each claim within its policy's cover and with a status that
fits how long ago it was reported (closed ones have ``closed_at``; paid ones ``amount_paid``).

The claimant is the policy's insured and the handling org the policy's selling org.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backend.directory.codes import LIFE_LINES
from backend.seed.catalog import CAUSES, CLAIM_RATE, CLAIM_WORDS, HANDLING_DAYS, PC_POLICY_PREFIX, REPORT_DELAY_DAYS
from backend.seed.common import BEIJING, Weighted, digits, log_uniform, money
from backend.seed.people import Pools, Registry

_CLOSED = Weighted([("paid", 84), ("rejected", 7), ("withdrawn", 9)])
_MOTOR_CLOSED = Weighted([("paid", 80), ("rejected", 6), ("withdrawn", 14)])  # small dents often settled privately
_CAUSE = {line: Weighted([(c, c.weight) for c in causes]) for line, causes in CAUSES.items()}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), BEIJING)


def _cover(policy: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The stretch of time a claim on ``policy`` may have happened in."""
    start = _start_of(policy["effective_date"])
    end = now if policy["expiry_date"] is None else min(now, _start_of(policy["expiry_date"] + timedelta(days=1)))
    if policy["status"] in ("lapsed", "surrendered", "terminated"):
        end = start + (end - start) // 2  # the policy ended somewhere in between; stay well inside its cover
    return start, end


def make_claims(rng: random.Random, pools: Pools, registry: Registry, policies: list[dict[str, Any]],
                now: datetime) -> list[dict[str, Any]]:
    """Claims on about 8% of the policies, each within its policy's cover.

    The chance grows with the time a policy has been in cover (up to a year), so a policy that began
    last week rarely has a claim yet and claims do not bunch up just before ``now``.
    """
    rows: list[dict[str, Any]] = []
    for policy in policies:
        line = policy["line"]
        if policy["status"] == "cooling_off":
            continue
        start, end = _cover(policy, now)
        exposure = min(1.0, max(0.0, (end - start) / timedelta(days=365)))
        if rng.random() >= CLAIM_RATE[line] * exposure:
            continue
        repeat = line in ("motor", "medical", "accident", "property_other") and rng.random() < 0.2
        for _ in range(2 if repeat else 1):
            claim = _claim(rng, pools, registry, policy, start, end, now)
            if claim is not None:
                rows.append(claim)
    rows.sort(key=lambda r: (r["reported_at"], r["claim_number"]))
    for new_id, row in enumerate(rows, start=1):
        row["id"] = new_id
    return rows


def _claim(rng: random.Random, pools: Pools, registry: Registry, policy: dict[str, Any], start: datetime,
           end: datetime, now: datetime) -> dict[str, Any] | None:
    line = policy["line"]
    delay = timedelta(seconds=int(log_uniform(rng, *REPORT_DELAY_DAYS[line]) * 86_400))
    window = (end - start - delay).total_seconds()
    if window < 3600:
        return None
    accident = start + timedelta(seconds=int(rng.random() * window))
    reported = accident + delay
    handling = timedelta(seconds=int(log_uniform(rng, *HANDLING_DAYS[line]) * 86_400))
    closed_at: datetime | None = None
    if reported + handling <= now:
        status = (_MOTOR_CLOSED if line == "motor" else _CLOSED).pick(rng)
        closed_at = reported + handling
    else:
        progress = (now - reported) / handling
        stages = ((0.1, "reported"), (0.4, "surveying"), (0.85, "assessing")) if line in ("motor", "property_other") \
            else ((0.2, "reported"), (0.85, "assessing"))
        status = next((s for limit, s in stages if progress < limit), "approved")
    cause = _CAUSE[line].pick(rng)
    sum_insured = float(policy["sum_insured"])
    if cause.share:
        claimed = sum_insured * rng.uniform(cause.lo, cause.hi)
    else:
        claimed = min(log_uniform(rng, cause.lo, cause.hi), sum_insured)
    paid = None
    if status == "paid":
        paid = money(claimed if cause.share else claimed * rng.uniform(0.65, 1.0))
    words = {k: rng.choice(v) for k, v in CLAIM_WORDS.items()}
    year = reported.astimezone(BEIJING).year
    if line in LIFE_LINES:
        number = registry.unique("claim", lambda: f"C{year}{digits(rng, 8)}")
    else:
        prefix = "R" + PC_POLICY_PREFIX[line][1:]
        number = registry.unique("claim", lambda: f"{prefix}{year}{digits(rng, 10)}")
    return {
        "claim_number": number,
        "org_id": policy["org_id"],
        "policy_id": policy["id"],
        "claimant_id": policy["insured_id"],
        "status": status,
        "accident_at": accident.astimezone(UTC),
        "reported_at": reported.astimezone(UTC),
        "closed_at": closed_at.astimezone(UTC) if closed_at else None,
        "cause": cause.name,
        "description": rng.choice(cause.descriptions).format(street=rng.choice(pools.streets), **words),
        "amount_claimed": None if status == "reported" and rng.random() < 0.5 else money(claimed),
        "amount_paid": paid,
    }
