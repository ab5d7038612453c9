"""Org-subtree scoping, proven for every role at three org levels (总公司, 分公司, 营业网点).

Objects live in three places: the test users' own outlet, a sibling outlet under the same
中心支公司, and an outlet of another 分公司. Who may see what follows only from where the user sits;
what they may do at all follows from the role's permissions (403 without, 404 when out of subtree).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from backend.directory.models import Claim, Customer, Policy
from backend.orgs.scope import Scope
from tests.conftest import LEVELS, Stack

PLACES = ("outlet", "sibling_outlet", "other_outlet")
# which places a user at each level may see
VISIBLE = {"hq": {"outlet", "sibling_outlet", "other_outlet"}, "branch": {"outlet", "sibling_outlet"},
           "outlet": {"outlet"}}


async def _samples(stack: Stack) -> dict[str, dict[str, str]]:
    """One customer, policy and claim per place, straight from the database."""
    out: dict[str, dict[str, str]] = {}
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        for place in PLACES:
            org_id = stack.orgs[place].id
            customer = await s.scalar(select(Customer).where(Customer.org_id == org_id).order_by(Customer.id).limit(1))
            policy = await s.scalar(select(Policy).where(Policy.org_id == org_id).order_by(Policy.id).limit(1))
            claim = await s.scalar(select(Claim).where(Claim.org_id == org_id).order_by(Claim.id).limit(1))
            assert customer and policy, f"seed left {place} without data"
            out[place] = {"customer": str(customer.id), "mobile": customer.mobile or "",
                          "policy": policy.policy_number, "claim": claim.claim_number if claim else ""}
    return out


CASES = [(role, level) for role in Role for level in LEVELS]


@pytest.mark.parametrize(("role", "level"), CASES, ids=[f"{r.value}-{lvl}" for r, lvl in CASES])
async def test_given_role_at_level_when_reading_directory_then_only_its_subtree_is_found(
    stack: Stack, role: Role, level: str
) -> None:
    username = stack.users[(role, level)]
    samples = await _samples(stack)
    perms = ROLE_PERMISSIONS[role]
    for place in PLACES:
        visible = place in VISIBLE[level]
        ids = samples[place]
        checks = [(Permission.customer_read, f"/api/customers/{ids['customer']}"),
                  (Permission.customer_read, f"/api/customers/{ids['customer']}/policies"),
                  (Permission.policy_read, f"/api/policies/{ids['policy']}")]
        if ids["claim"]:
            checks.append((Permission.claim_read, f"/api/claims/{ids['claim']}"))
        for permission, url in checks:
            r = await stack.get(username, url)
            expected = 403 if permission not in perms else 200 if visible else 404
            assert r.status_code == expected, (role, level, place, url, r.status_code, r.text[:200])
            if expected == 404:
                # the same answer as for an id that never existed: a bare problem, nothing of the object
                assert r.json()["title"] == "未找到"
                assert set(r.json()) == {"type", "title", "status", "detail", "instance", "request_id"}
        if Permission.customer_read in perms:
            r = await stack.get(username, "/api/customers", params={"phone": ids["mobile"]})
            assert r.status_code == 200
            found = {c["id"] for c in r.json()}
            assert (ids["customer"] in found) == visible, (role, level, place)


@pytest.mark.parametrize(("role", "level"), CASES, ids=[f"{r.value}-{lvl}" for r, lvl in CASES])
async def test_given_role_at_level_when_listing_orgs_and_users_then_only_its_subtree_is_listed(
    stack: Stack, role: Role, level: str
) -> None:
    username = stack.users[(role, level)]
    own = stack.orgs[{"hq": "hq", "branch": "branch", "outlet": "outlet"}[level]]
    perms = ROLE_PERMISSIONS[role]

    paths = await _all_org_paths(stack)

    r = await stack.get(username, "/api/orgs")
    if Permission.org_read not in perms:
        assert r.status_code == 403
    else:
        assert r.status_code == 200
        listed = {o["id"] for o in r.json()}
        assert listed == {oid for oid, path in paths.items() if path.startswith(own.path)}
        assert own.id in listed
        assert (stack.orgs["other_outlet"].id in listed) == (level == "hq")
        other = await stack.get(username, f"/api/orgs/{stack.orgs['other_branch'].id}")
        assert other.status_code == (200 if level == "hq" else 404)

    r = await stack.get(username, "/api/users", params={"limit": 1000})
    if Permission.user_read not in perms:
        assert r.status_code == 403
        return
    assert r.status_code == 200
    users = r.json()
    assert users and all(paths[u["org_id"]].startswith(own.path) for u in users)
    names = {u["username"] for u in users}
    assert stack.users[(Role.agent, "outlet")] in names  # the outlet is inside every level's subtree
    assert (stack.users[(Role.agent, "hq")] in names) == (level == "hq")


async def _all_org_paths(stack: Stack) -> dict[int, str]:
    from backend.orgs.models import Org

    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return dict((await s.execute(select(Org.id, Org.path))).all())


async def test_given_same_name_in_two_branches_when_searching_then_each_level_sees_its_share(stack: Stack) -> None:
    admin = stack.users[(Role.admin, "hq")]
    for place in ("outlet", "other_outlet"):
        r = await stack.post(admin, "/api/customers", json={
            "org_id": stack.orgs[place].id, "name": "同名测试客户", "mobile": "13700000000"[:-1] + str(PLACES.index(place))})
        assert r.status_code == 201, r.text
    seen = {}
    for level in LEVELS:
        r = await stack.get(stack.users[(Role.agent, level)], "/api/customers", params={"name": "同名测试客户"})
        assert r.status_code == 200
        seen[level] = sorted(c["org_id"] for c in r.json())
    assert seen["hq"] == sorted([stack.orgs["outlet"].id, stack.orgs["other_outlet"].id])
    assert seen["branch"] == [stack.orgs["outlet"].id]
    assert seen["outlet"] == [stack.orgs["outlet"].id]


async def test_given_branch_admin_scope_when_creating_customer_in_other_branch_then_404_and_nothing_written(
    stack: Stack,
) -> None:
    admin = stack.users[(Role.admin, "branch")]
    r = await stack.post(admin, "/api/customers", json={
        "org_id": stack.orgs["other_outlet"].id, "name": "越权登记", "mobile": "13711112222"})
    assert r.status_code == 404
    check = await stack.get(stack.users[(Role.agent, "hq")], "/api/customers", params={"name": "越权登记"})
    assert check.json() == []


async def test_given_session_without_scope_when_querying_scoped_rows_then_it_refuses(stack: Stack) -> None:
    from backend.orgs.scope import ScopeMissing

    with pytest.raises(ScopeMissing):
        async with stack.ctx.db.session() as s:
            await s.scalar(select(Customer).limit(1))


async def test_given_two_scopes_in_turn_when_same_query_runs_then_results_differ(stack: Stack) -> None:
    """The scope is never cached with the statement: the same code path serves two users correctly."""
    counts = []
    for org in (stack.orgs["outlet"], stack.orgs["other_outlet"], stack.orgs["outlet"]):
        async with stack.ctx.db.session(scope=Scope.subtree(org.path)) as s:
            rows = (await s.scalars(select(Customer.org_id).select_from(Customer).limit(10_000))).all()
            ids = (await s.scalars(select(Customer).limit(10_000))).all()
            counts.append({c.org_id for c in ids})
            assert rows  # column selects are scoped as well
    assert counts[0] == {stack.orgs["outlet"].id}
    assert counts[1] == {stack.orgs["other_outlet"].id}
    assert counts[2] == counts[0]


async def test_given_one_tree_wide_statement_when_run_then_only_it_sees_past_the_sessions_scope(stack: Stack) -> None:
    from backend.orgs.scope import across_org_tree

    async with stack.ctx.db.session(scope=Scope.subtree(stack.orgs["outlet"].path)) as s:
        before = set((await s.scalars(select(Customer.org_id).distinct())).all())
        wide = set((await s.scalars(across_org_tree(select(Customer.org_id).distinct()))).all())
        after = set((await s.scalars(select(Customer.org_id).distinct())).all())
    assert before == after == {stack.orgs["outlet"].id}
    assert {stack.orgs["outlet"].id, stack.orgs["other_outlet"].id} <= wide
