"""Deterministic demo data: the org tree, demo users, and customers with their policies and claims.

The same ``seed`` and ``as_of`` give identical rows on every run and on every backend: names, ID
numbers, phones, policy numbers, amounts, and dates and timestamps (all placed relative to ``as_of``,
none taken from the clock). Every value comes from ``Faker('zh_CN')`` seeded with ``seed`` (drawn into
pools once) and from ``random.Random`` streams derived from ``seed``; never from global random state.

Demo users, all with the ``password`` passed to :func:`seed`. Usernames are ``<role>_<place>``, where
``<role>`` is a :class:`backend.auth.permissions.Role` value and ``<place>`` is

- ``hq``      — 联络保险股份有限公司总公司 (the HQ admin is plainly ``admin``);
- ``bj``      — 北京分公司 (the first branch);
- ``bj_cy``   — 朝阳中心支公司 (its first central sub-branch);
- ``bj_cy01`` — 朝阳中心支公司望京营业部 (that sub-branch's first outlet);

so ``agent_hq``, ``agent_bj``, ``agent_bj_cy``, ``agent_bj_cy01``, ``auditor_bj`` and so on: every role
at every level of the Beijing line. ``agent_sh``, ``org_manager_sh``, ``agent_gd`` and ``org_manager_gd``
sit at the other two branches, to show that one branch cannot see another's customers. With
``users_per_role=False`` only ``admin`` is created.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.passwords import hash_password
from backend.auth.permissions import ROLE_LABELS, Role
from backend.auth.services import create_user
from backend.core.db import Base, Database
from backend.directory.models import Claim, Customer, Policy
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from backend.seed.claims import make_claims
from backend.seed.common import beijing_moment, reference_moment
from backend.seed.orgs import OrgTree, SeededOrg, build_tree
from backend.seed.people import Pools, Registry, make_customers, stamp_customers
from backend.seed.policies import PolicyMaker, remap_customers

_BATCH = 2_000
_OTHER_BRANCH_ROLES = (Role.agent, Role.org_manager)
_PHONE_ROLES = (Role.agent, Role.team_lead)


class AlreadySeeded(RuntimeError):
    """The database already holds data; the seed only ever fills an empty one."""

    def __init__(self) -> None:
        super().__init__("数据库中已有数据，不能再次生成演示数据 / "
                         "the database already holds data; refusing to seed demo data into it")


@dataclass
class SeedReport:
    orgs: int
    users: int
    customers: int
    policies: int
    claims: int
    seconds: float
    # (username, role label 中文, org name, org level) for the README and the demo banner.
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)


async def is_seeded(db: Database) -> bool:
    """True when an org exists (the seed always creates the tree first)."""
    async with db.session(scope=Scope.everything()) as session:
        return await session.scalar(select(Org.id).limit(1)) is not None


async def _is_empty(session: AsyncSession) -> bool:
    for model in (Org, User, Customer, Policy, Claim):
        if await session.scalar(select(model.id).limit(1)) is not None:
            return False
    return True


async def _bulk_insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    # render_nulls: without it every distinct pattern of None columns becomes its own INSERT, and the
    # batch falls apart into thousands of small statements.
    stmt = insert(model).execution_options(render_nulls=True)
    for start in range(0, len(rows), _BATCH):
        await session.execute(stmt, rows[start:start + _BATCH])


async def _create_users(session: AsyncSession, tree: OrgTree, pools: Pools, registry: Registry,
                        rng: random.Random, password: str, password_hash: str, as_of: date,
                        users_per_role: bool) -> list[tuple[str, str, str, str]]:
    wanted: list[tuple[str, Role, SeededOrg]] = [("admin", Role.admin, tree.hq)]
    if users_per_role:
        for place in (tree.hq, tree.branches[0], tree.centrals[0], tree.outlets[0]):
            wanted += [(f"{role.value}_{place.key}", role, place) for role in Role
                       if not (role is Role.admin and place is tree.hq)]
        for branch in tree.branches[1:]:
            wanted += [(f"{role.value}_{branch.key}", role, branch) for role in _OTHER_BRANCH_ROLES]
    logins: list[tuple[str, str, str, str]] = []
    extensions = iter(range(1001, 10_000))
    for username, role, place in wanted:
        created = beijing_moment(as_of - timedelta(days=rng.randint(180, 720)), rng)
        user = await create_user(
            session, username=username, password=password, display_name=pools.full_name(rng, rng.random() < 0.5),
            org_id=place.org.id, roles=[role], now=created, mobile=registry.mobile(rng),
            email=f"{username}@lianluo.example", check_password=False, password_hash=password_hash,
        )
        if role in _PHONE_ROLES:  # PJSIP/1001, 1002, … in the order the users are created
            user.phone_interface = f"PJSIP/{next(extensions)}"
        logins.append((username, ROLE_LABELS[role], place.org.name, str(place.org.level)))
    return logins


async def seed(db: Database, *, seed: int, customers: int = 10_000, policies: int = 20_000, password: str,
               as_of: date | None = None, users_per_role: bool = True) -> SeedReport:
    """Fill an empty database with the demo org tree, users, customers, policies and claims.

    Raises :class:`AlreadySeeded` when any org, user, customer, policy or claim exists (check
    :func:`is_seeded` first). Everything is written in one transaction: on failure nothing is left.
    """
    if customers < 0 or policies < 0:
        raise ValueError("customers and policies must not be negative")
    if policies and not customers:
        raise ValueError("policies need at least one customer to hold them")
    started = time.perf_counter()
    as_of = as_of or date.today()
    now: datetime = reference_moment(as_of)
    master = random.Random(seed)
    # One stream per part, so a change in how one part draws leaves the others' data as it was.
    streams = {part: random.Random(master.getrandbits(64))
               for part in ("users", "customers", "policies", "stamps", "claims")}
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    pools = Pools.draw(fake)
    registry = Registry()

    async with db.session(scope=Scope.everything()) as session:
        if not await _is_empty(session):
            raise AlreadySeeded()
        tree = await build_tree(session)
        logins = await _create_users(session, tree, pools, registry, streams["users"], password,
                                     await hash_password(password), as_of, users_per_role)
        people = make_customers(streams["customers"], pools, registry, tree.outlet_facts, customers, as_of)
        maker = PolicyMaker(streams["policies"], pools, registry, people, tree.outlet_facts, as_of)
        policy_rows = maker.make(policies)
        customer_rows = stamp_customers(streams["stamps"], people, maker.first_seen, as_of, now)
        remap_customers(policy_rows, people)
        claim_rows = make_claims(streams["claims"], pools, registry, policy_rows, now)
        # Ids are set here (the tables are empty), so policies can point at customers without a read-back.
        await _bulk_insert(session, Customer, customer_rows)
        await _bulk_insert(session, Policy, policy_rows)
        await _bulk_insert(session, Claim, claim_rows)
        if db.dialect == "postgresql":
            for table in ("customers", "policies", "claims"):
                await session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                ))
    # A bulk load leaves the planner without statistics: PostgreSQL then drives a phone lookup from
    # the org table (measured over 100,000 customers: 8 ms a lookup instead of 0.1 ms).
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return SeedReport(orgs=tree.count, users=len(logins), customers=len(customer_rows), policies=len(policy_rows),
                      claims=len(claim_rows), seconds=time.perf_counter() - started, logins=logins)
