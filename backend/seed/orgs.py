"""The demo org tree: one 总公司, 3 分公司, 10 中心支公司 and 30 营业网点, inserted level by level.

Level by level (all branches, then all central sub-branches, then all outlets) keeps ids in the same
order as the paths sort, so "the first branch" means the same org by id and by path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.orgs.services import create_org
from backend.seed.catalog import BRANCHES, HQ_CODE, HQ_NAME, BranchSpec, CentralSpec, OutletSpec


@dataclass(frozen=True)
class Outlet:
    """An inserted outlet with the facts the people and policy generators need about its place."""

    org_id: int
    code: str
    name: str
    branch_org_id: int
    branch: BranchSpec
    central: CentralSpec
    spec: OutletSpec


@dataclass(frozen=True)
class SeededOrg:
    org: Org
    key: str  # username suffix: "hq", "bj", "bj_cy", "bj_cy01"


@dataclass
class OrgTree:
    hq: SeededOrg
    branches: list[SeededOrg]
    centrals: list[SeededOrg]
    outlets: list[SeededOrg]
    outlet_facts: list[Outlet]

    @property
    def count(self) -> int:
        return 1 + len(self.branches) + len(self.centrals) + len(self.outlets)


async def build_tree(session: AsyncSession) -> OrgTree:
    scope = Scope.everything()

    async def add(code: str, name: str, level: OrgLevel, parent: Org | None, region: str) -> Org:
        return await create_org(session, scope, code=code, name=name, level=level,
                                parent_id=parent.id if parent else None, region_code=region)

    hq = SeededOrg(await add(HQ_CODE, HQ_NAME, OrgLevel.head_office, None, "110000"), "hq")
    branches = [SeededOrg(await add(b.region_code, b.name, OrgLevel.branch, hq.org, b.region_code), b.key)
                for b in BRANCHES]
    centrals: list[SeededOrg] = []
    placed: list[tuple[Org, BranchSpec, CentralSpec]] = []  # (branch org, its spec, central spec) per central
    for branch, spec in zip(branches, BRANCHES, strict=True):
        for c in spec.centrals:
            org = await add(c.code, c.name, OrgLevel.central_sub_branch, branch.org, c.region_code)
            centrals.append(SeededOrg(org, f"{spec.key}_{c.key}"))
            placed.append((branch.org, spec, c))
    outlets: list[SeededOrg] = []
    facts: list[Outlet] = []
    for central, (branch_org, branch_spec, central_spec) in zip(centrals, placed, strict=True):
        for i, o in enumerate(central_spec.outlets, start=1):
            code = f"{central_spec.code}{i:02d}"
            name = f"{central_spec.name}{o.name}"
            org = await add(code, name, OrgLevel.outlet, central.org, o.region_code)
            outlets.append(SeededOrg(org, f"{branch_spec.key}_{o.key}"))
            facts.append(Outlet(org.id, code, name, branch_org.id, branch_spec, central_spec, o))
    return OrgTree(hq, branches, centrals, outlets, facts)
