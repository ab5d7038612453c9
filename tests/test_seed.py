"""Demo seed: the org tree, the demo users, and customers, policies and claims that are valid,
consistent with their dates, reproducible from the seed number, and fast enough for `make demo`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select

import backend.audit.models  # noqa: F401 - registers the audit table
import backend.auth.models  # noqa: F401 - registers the user tables
import backend.directory.models  # noqa: F401 - registers the directory tables
from backend.auth.models import User, UserRole
from backend.auth.passwords import verify_password
from backend.auth.permissions import ROLE_LABELS, Role
from backend.core.db import Base, Database
from backend.directory.codes import CLAIM_STATUSES, LIFE_LINES, LINES_OF_BUSINESS, POLICY_STATUSES, RISK_FLAGS
from backend.directory.identity import is_valid_id_number, phone_problem, plate_problem
from backend.directory.models import Claim, Customer, Policy
from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.seed.builder import AlreadySeeded, SeedReport, is_seeded, seed
from backend.seed.common import add_years, age_on, luhn_digit
from tests import backends

AS_OF = date(2026, 11, 1)
SEED = 11
PASSWORD = "Demo@Lianluo1"
SMALL: dict[str, int] = {"customers": 300, "policies": 600}
# The seed's "now": the start of AS_OF in Beijing.
NOW = datetime.combine(AS_OF, time(0, 0), timezone(timedelta(hours=8))).astimezone(UTC)


async def _fresh_sqlite(directory: Path) -> Database:
    directory.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite+aiosqlite:///{directory}/x.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


async def _all(db: Database, table: Table, *, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    columns = [c for c in table.columns if c.name not in skip]
    async with db.session(scope=Scope.everything()) as s:
        return [tuple(r) for r in (await s.execute(select(*columns).order_by(*table.primary_key.columns)))]


async def _objects(db: Database, model: type[Any]) -> list[Any]:
    async with db.session(scope=Scope.everything()) as s:
        return list((await s.scalars(select(model).order_by(model.id))).all())


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Database, SeedReport]]:
    db = await _fresh_sqlite(tmp_path_factory.mktemp("seed"))
    report = await seed(db, seed=SEED, password=PASSWORD, as_of=AS_OF, **SMALL)
    yield db, report
    await db.dispose()


async def test_given_fresh_database_when_seeded_then_tree_has_1_3_10_30_orgs_with_materialised_paths(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, report = seeded
    orgs = await _objects(db, Org)
    assert Counter(o.level for o in orgs) == {OrgLevel.head_office: 1, OrgLevel.branch: 3,
                                              OrgLevel.central_sub_branch: 10, OrgLevel.outlet: 30}
    assert report.orgs == len(orgs) == 44
    by_id = {o.id: o for o in orgs}
    for org in orgs:
        parent_path = by_id[org.parent_id].path if org.parent_id is not None else "/"
        assert org.path == f"{parent_path}{org.id}/"
        assert org.region_code is not None and re.fullmatch(r"\d{6}", org.region_code)
    levels_under = {OrgLevel.branch: OrgLevel.head_office, OrgLevel.central_sub_branch: OrgLevel.branch,
                    OrgLevel.outlet: OrgLevel.central_sub_branch}
    for org in orgs:
        if org.parent_id is not None:
            assert by_id[org.parent_id].level == levels_under[org.level]
    centrals_per_branch = Counter(o.parent_id for o in orgs if o.level == OrgLevel.central_sub_branch)
    assert sorted(centrals_per_branch.values()) == [3, 3, 4]
    assert all(n == 3 for n in Counter(o.parent_id for o in orgs if o.level == OrgLevel.outlet).values())
    assert "朝阳中心支公司望京营业部" in {o.name for o in orgs}


async def test_given_same_seed_and_as_of_when_seeded_twice_then_rows_are_identical_and_other_seed_differs(
    seeded: tuple[Database, SeedReport], tmp_path: Path,
) -> None:
    db, _ = seeded
    again = await _fresh_sqlite(tmp_path / "again")
    other = await _fresh_sqlite(tmp_path / "other")
    try:
        await seed(again, seed=SEED, password=PASSWORD, as_of=AS_OF, **SMALL)
        await seed(other, seed=SEED + 1, password=PASSWORD, as_of=AS_OF, **SMALL)
        for model in (Org, Customer, Policy, Claim, UserRole):
            table = model.__table__
            assert await _all(db, table) == await _all(again, table), table.name
        # The password hash is salted, so it is the one column that differs between runs.
        assert await _all(db, User.__table__, skip=("password_hash",)) == \
            await _all(again, User.__table__, skip=("password_hash",))
        ours = await _objects(db, Customer)
        theirs = await _objects(other, Customer)
        assert [c.id_number for c in ours] != [c.id_number for c in theirs]
        assert [c.name for c in ours] != [c.name for c in theirs]
        assert {p.policy_number for p in await _objects(db, Policy)} != \
            {p.policy_number for p in await _objects(other, Policy)}
    finally:
        await again.dispose()
        await other.dispose()


async def test_given_seeded_customers_then_id_numbers_are_valid_unique_and_agree_with_birth_and_gender(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, report = seeded
    customers = await _objects(db, Customer)
    assert len(customers) == report.customers == SMALL["customers"]
    numbers = [c.id_number for c in customers]
    assert len(set(numbers)) == len(numbers)
    for c in customers:
        assert is_valid_id_number(c.id_number), c.id_number
        assert c.id_number[6:14] == f"{c.birth_date:%Y%m%d}"
        assert int(c.id_number[16]) % 2 == (1 if c.gender == "M" else 0)
        age = age_on(c.birth_date, AS_OF)
        assert 18 <= age <= 85
        assert ("elderly" in c.risk_flags) == (age >= 60)
        assert ("vip" in c.risk_flags) == (c.level == "vip")
        assert set(c.risk_flags) <= set(RISK_FLAGS)
        assert c.level in ("normal", "silver", "gold", "vip")
        assert c.created_at.tzinfo is not None and c.created_at <= c.updated_at <= NOW
    assert len({c.gender for c in customers}) == 2
    assert len({c.name for c in customers}) > len(customers) * 0.8


async def test_given_seeded_people_then_mobiles_are_valid_and_unique_and_other_contacts_are_well_formed(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, _ = seeded
    customers = await _objects(db, Customer)
    users = await _objects(db, User)
    mobiles = [c.mobile for c in customers] + [u.mobile for u in users]
    assert len(set(mobiles)) == len(mobiles)
    for mobile in mobiles:
        assert re.fullmatch(r"1[3-9]\d{9}", mobile) and phone_problem(mobile) is None
    landlines = [c.phone for c in customers if c.phone]
    assert 0.15 < len(landlines) / len(customers) < 0.45
    for phone in landlines:
        assert phone_problem(phone) is None and re.fullmatch(r"0\d{2,3}-\d{8}", phone), phone
    accounts = [c.bank_account for c in customers if c.bank_account]
    assert 0.45 < len(accounts) / len(customers) < 0.75
    for account in accounts:
        assert 16 <= len(account) <= 19 and luhn_digit(account[:-1]) == account[-1]
    assert all("@" in c.email for c in customers if c.email)
    assert all(c.address for c in customers)


async def test_given_seeded_users_then_every_role_has_a_user_at_hq_branch_central_and_outlet(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, report = seeded
    async with db.session(scope=Scope.everything()) as s:
        rows = (await s.execute(
            select(User.username, UserRole.role, Org.level).join(UserRole, UserRole.user_id == User.id)
            .join(Org, Org.id == User.org_id)
        )).all()
    levels_of: dict[str, set[str]] = {}
    for _, role, level in rows:
        levels_of.setdefault(role, set()).add(level)
    for role in Role:
        assert levels_of[role.value] >= {OrgLevel.head_office, OrgLevel.branch, OrgLevel.central_sub_branch,
                                         OrgLevel.outlet}, role
    assert ("admin", "admin", OrgLevel.head_office) in rows
    assert {"agent_hq", "agent_bj", "agent_bj_cy", "agent_bj_cy01", "agent_sh", "agent_gd"} <= {r[0] for r in rows}
    assert report.users == len(rows) == len(report.logins)
    assert report.logins[0] == ("admin", ROLE_LABELS[Role.admin], "联络保险股份有限公司总公司", "head_office")
    assert all(username.isascii() for username, *_ in report.logins)


async def test_given_users_per_role_off_when_seeded_then_only_admin_exists(tmp_path: Path) -> None:
    db = await _fresh_sqlite(tmp_path)
    try:
        report = await seed(db, seed=SEED, password=PASSWORD, as_of=AS_OF, customers=5, policies=8,
                            users_per_role=False)
        assert [u.username for u in await _objects(db, User)] == ["admin"]
        assert report.logins == [("admin", "系统管理员", "联络保险股份有限公司总公司", "head_office")]
        assert (report.customers, report.policies) == (5, 8)
    finally:
        await db.dispose()


async def test_given_demo_password_when_verifying_any_demo_user_then_it_matches(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, _ = seeded
    users = await _objects(db, User)
    # Hashed once for everybody: argon2 is deliberately slow.
    assert len({u.password_hash for u in users}) == 1
    assert await verify_password(users[0].password_hash, PASSWORD)
    assert not await verify_password(users[0].password_hash, PASSWORD + "x")


def _one_year_term(p: Policy) -> bool:
    return p.expiry_date is not None and p.expiry_date == add_years(p.effective_date, 1) - timedelta(days=1)


async def test_given_seeded_policies_then_statuses_agree_with_dates_and_fields_fit_the_line(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, report = seeded
    policies = await _objects(db, Policy)
    customers = {c.id: c for c in await _objects(db, Customer)}
    outlets = {o.id for o in await _objects(db, Org) if o.level == OrgLevel.outlet}
    assert len(policies) == report.policies == SMALL["policies"]
    assert len({p.policy_number for p in policies}) == len(policies)
    lines = Counter(p.line for p in policies)
    assert set(lines) <= set(LINES_OF_BUSINESS) and len(lines) >= 9
    assert lines.most_common(1)[0][0] == "motor"
    grace = AS_OF - timedelta(days=60)
    for p in policies:
        assert p.status in POLICY_STATUSES and p.org_id in outlets
        assert p.holder_id in customers and p.insured_id in customers
        assert customers[p.holder_id].created_at <= p.created_at < NOW
        assert p.signed_date < AS_OF and p.signed_date <= p.effective_date
        assert p.expiry_date is None or p.effective_date < p.expiry_date
        cooling = p.line in LIFE_LINES and not _one_year_term(p) and (AS_OF - p.signed_date).days < 15
        assert (p.status == "cooling_off") == cooling, p.policy_number
        if p.status == "in_force":
            assert p.effective_date <= AS_OF and (p.expiry_date is None or AS_OF <= p.expiry_date)
        if p.status == "matured":
            assert p.expiry_date is not None and p.expiry_date < AS_OF
        if p.status in ("lapsed", "surrendered", "terminated"):
            assert p.effective_date <= AS_OF
        if p.status == "lapsed":
            assert p.payment_frequency != "single" and p.next_premium_date is not None
            assert p.next_premium_date <= grace
        if p.payment_frequency == "single":
            assert p.next_premium_date is None and p.payment_years == 1
        elif p.status == "in_force" and p.next_premium_date is not None:
            assert p.next_premium_date >= grace
        for amount in (p.premium, p.sum_insured):
            assert isinstance(amount, Decimal) and amount > 0 and amount == amount.quantize(Decimal("0.01"))
        assert p.sales_channel in ("个险", "银保", "电销", "网销", "团险")
        if p.line == "motor":
            assert plate_problem(p.plate_number) is None, p.plate_number
            assert re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", p.vin), p.vin
            assert re.fullmatch(r"PD[AZ]A\d{14}", p.policy_number) and p.payment_frequency == "single"
        else:
            assert p.plate_number is None and p.vin is None
        if p.line in LIFE_LINES:
            assert re.fullmatch(r"P\d{12}", p.policy_number)
    statuses = Counter(p.status for p in policies)
    assert statuses["in_force"] > len(policies) / 2 and statuses["matured"] > 0
    assert sum(p.holder_id == p.insured_id for p in policies) > len(policies) * 0.7


async def test_given_seeded_claims_then_they_fall_within_cover_and_closed_ones_have_closing_times(
    seeded: tuple[Database, SeedReport],
) -> None:
    db, report = seeded
    claims = await _objects(db, Claim)
    policies = {p.id: p for p in await _objects(db, Policy)}
    assert len(claims) == report.claims
    assert 0.03 < len({c.policy_id for c in claims}) / len(policies) < 0.15
    assert len({c.claim_number for c in claims}) == len(claims)
    beijing = timezone(timedelta(hours=8))
    for c in claims:
        policy = policies[c.policy_id]
        assert c.status in CLAIM_STATUSES
        assert c.org_id == policy.org_id and c.claimant_id == policy.insured_id
        assert c.accident_at < c.reported_at <= NOW
        assert c.accident_at.astimezone(beijing).date() >= policy.effective_date
        if policy.expiry_date is not None:
            assert c.accident_at.astimezone(beijing).date() <= policy.expiry_date
        closed = c.status in ("paid", "rejected", "withdrawn")
        assert (c.closed_at is not None) == closed
        if closed:
            assert c.reported_at < c.closed_at <= NOW
        assert (c.amount_paid is not None) == (c.status == "paid")
        if c.amount_claimed is not None:
            assert 0 < c.amount_claimed <= policy.sum_insured
        assert c.cause and c.description


async def test_given_seeded_database_when_seeding_again_then_already_seeded_is_raised_and_nothing_changes(
    seeded: tuple[Database, SeedReport], tmp_path: Path,
) -> None:
    db, report = seeded
    assert await is_seeded(db)
    with pytest.raises(AlreadySeeded, match="已有数据"):
        await seed(db, seed=SEED + 5, password=PASSWORD, as_of=AS_OF, customers=10, policies=10)
    async with db.session(scope=Scope.everything()) as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == report.customers
    empty = await _fresh_sqlite(tmp_path)
    try:
        assert not await is_seeded(empty)
    finally:
        await empty.dispose()


async def test_given_full_demo_size_when_seeded_into_sqlite_then_it_takes_under_30_seconds(tmp_path: Path) -> None:
    db = await _fresh_sqlite(tmp_path)
    try:
        report = await seed(db, seed=20261123, password=PASSWORD, as_of=AS_OF, customers=10_000, policies=20_000)
    finally:
        await db.dispose()
    print(f"seeded 10,000 customers / 20,000 policies / {report.claims} claims in {report.seconds:.2f} s")
    assert (report.customers, report.policies) == (10_000, 20_000)
    assert report.seconds < 30


@pytest.mark.postgres
async def test_given_postgresql_when_seeded_then_sequences_continue_after_the_seeded_ids() -> None:
    if not backends.pg_available():
        if "postgresql" in backends.REQUIRED:
            pytest.fail("PostgreSQL is required but unreachable")
        pytest.skip("PostgreSQL unreachable")
    url, name = await backends.fresh_pg_database()
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        report = await seed(db, seed=SEED, password=PASSWORD, as_of=AS_OF, customers=50, policies=80)
        async with db.session(scope=Scope.everything()) as s:
            customer = Customer(org_id=1, name="新客户", risk_flags=[], created_at=NOW, updated_at=NOW)
            s.add(customer)
            await s.flush()
            assert customer.id == report.customers + 1
    finally:
        await db.dispose()
        await backends.drop_pg_database(name)
