"""Complaint fund (投诉基金): accounts, deposits, usage applied for on a ticket, approved by someone else,
settled; overdrawing refused, also when two approvals race; org scoping; amounts as yuan strings; the
payee's personal data masked.

Accounts are one per org, so every test opens its accounts on orgs of its own (created under the shared
tree), with its own users and tickets.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.auth.passwords import hash_password
from backend.auth.permissions import Role
from backend.auth.services import create_user
from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.orgs.services import create_org
from tests.conftest import NOW, PASSWORD, Stack
from tests.test_attachments import pdf, uploaded
from tests.test_tickets import body


async def new_org(stack: Stack, parent: str = "central") -> Org:
    tag = uuid.uuid4().hex[:8]
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return await create_org(s, Scope.everything(), code=f"fund{tag}", name=f"基金测试营业部{tag}",
                                level=OrgLevel.outlet, parent_id=stack.orgs[parent].id)


_HASH: list[str] = []


async def user(stack: Stack, role: Role, org: Org | str) -> str:
    """A new user; the password is hashed once for the module (argon2 is slow on purpose)."""
    if not _HASH:
        _HASH.append(await hash_password(PASSWORD))
    where = stack.orgs[org] if isinstance(org, str) else org
    username = f"fd_{role.value}_{uuid.uuid4().hex[:8]}"
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await create_user(s, username=username, password=PASSWORD, display_name=username, org_id=where.id,
                          roles=[role], now=NOW, check_password=False, password_hash=_HASH[0])
    return username


async def ticket(stack: Stack, org: Org, *, submit: bool = True, who: str | None = None) -> dict[str, Any]:
    agent = who or await user(stack, Role.agent, org)
    r = await stack.post(agent, "/api/tickets", json=body("consultation", submit=submit))
    assert r.status_code == 201, r.text
    return r.json()


async def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


class Fund:
    """One org with an account, its manager, an applicant and a ticket to pay compensation on."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def open(self, deposit: str | None = "100.00") -> Fund:
        stack = self.stack
        self.org = await new_org(stack)
        self.manager = await user(stack, Role.org_manager, self.org)  # fund.manage, ticket.approve, no PII
        self.applicant = await user(stack, Role.complaint_handler, self.org)  # fund.manage, PII in clear
        self.approver = stack.users[(Role.org_manager, "branch")]  # above the account's org
        self.ticket = await ticket(stack, self.org, who=self.manager)
        self.account = await ok(await stack.post(self.manager, "/api/fund/accounts", json={"name": "投诉基金"}), 201)
        if deposit is not None:
            await ok(await self.deposit(deposit), 201)
        return self

    async def deposit(self, amount: Any, who: str | None = None) -> Any:
        return await self.stack.post(who or self.manager, f"/api/fund/accounts/{self.account['id']}/deposits",
                                     json={"amount": amount, "note": "2026 年度拨款"})

    async def apply(self, amount: Any, who: str | None = None, **fields: Any) -> Any:
        payload = {"account_id": self.account["id"], "ticket_id": self.ticket["id"], "amount": amount,
                   "payee_name": "张三丰", "payee_account": "6222 0200 1234 5678", "reason": "理赔时效过长，补偿客户",
                   **fields}
        return await self.stack.post(who or self.applicant, "/api/fund/usages", json=payload)

    async def applied(self, amount: str, **fields: Any) -> dict[str, Any]:
        return await ok(await self.apply(amount, **fields), 201)

    async def decide(self, usage_id: int, action: str, who: str | None = None, **payload: Any) -> Any:
        return await self.stack.post(who or self.approver, f"/api/fund/usages/{usage_id}/{action}", json=payload)

    async def state(self, who: str | None = None) -> dict[str, Any]:
        return await ok(await self.stack.get(who or self.manager, f"/api/fund/accounts/{self.account['id']}"))


# --- the journey


async def test_given_a_deposit_when_usage_is_applied_approved_and_settled_then_balances_and_history_follow(
        stack: Stack) -> None:
    f = await Fund(stack).open("10000.00")
    proof = await uploaded(stack, f.applicant, "赔付协议.pdf", pdf())
    usage = await f.applied("1234.50", attachment_ids=[proof["id"]])
    assert (usage["status"], usage["amount"], usage["ticket_number"]) == ("applied", "1234.50", f.ticket["number"])
    assert usage["attachment_ids"] == [proof["id"]]
    state = await f.state()
    assert (state["balance"], state["pending"], state["available"]) == ("10000.00", "1234.50", "8765.50")

    approved = await ok(await f.decide(usage["id"], "approve", opinion="同意补偿"))
    assert approved["status"] == "approved"
    assert (await f.state())["balance"] == "8765.50"
    settled = await ok(await f.decide(usage["id"], "settle", who=f.manager, settled_on="2026-11-23",
                                      voucher_number="PZ-2026-0001"))
    assert (settled["status"], settled["settled_on"], settled["voucher_number"]) == ("settled", "2026-11-23",
                                                                                     "PZ-2026-0001")
    assert [(h["action"], h["user_name"], h["opinion"]) for h in settled["history"]] == [
        ("apply", f.applicant, None), ("approve", f.approver, "同意补偿"), ("settle", f.manager, None)]

    state = await f.state()
    assert (state["deposited"], state["used"], state["pending"], state["balance"], state["available"]) == (
        "10000.00", "1234.50", "0.00", "8765.50", "8765.50")
    assert state["months"] == [{"month": "2026-11", "deposited": "10000.00", "used": "1234.50", "pending": "0.00",
                                "settled": "1234.50"}]
    on_ticket = await ok(await stack.get(f.approver, f"/api/tickets/{f.ticket['id']}/fund-usages"))
    assert [u["id"] for u in on_ticket] == [usage["id"]]
    listed = await ok(await stack.get(f.manager, "/api/fund/usages",
                                      params={"account_id": f.account["id"], "status": "settled",
                                              "applied_from": "2026-11-23", "applied_to": "2026-11-23"}))
    assert [u["id"] for u in listed] == [usage["id"]]
    assert await ok(await stack.get(f.manager, "/api/fund/usages", params={"account_id": f.account["id"],
                                                                           "applied_from": "2026-11-24"})) == []
    # The proof is seen with the usage, not beyond it.
    assert (await stack.get(f.approver, proof["download_url"])).status_code == 200
    stranger = await user(stack, Role.org_manager, "other_branch")
    assert (await stack.get(stranger, proof["download_url"])).status_code == 404


async def test_given_an_applicant_when_approving_their_own_usage_then_403_and_another_approver_may(
        stack: Stack) -> None:
    f = await Fund(stack).open()
    usage = await f.applied("10.00", who=f.manager)  # the manager can both apply and approve, not both here
    r = await f.decide(usage["id"], "approve", who=f.manager)
    assert r.status_code == 403 and r.json()["type"].endswith(":fund-self-approval"), r.text
    assert (await f.decide(usage["id"], "reject", who=f.manager, opinion="撤回")).status_code == 403
    assert (await ok(await f.decide(usage["id"], "approve")))["status"] == "approved"
    handler = await user(stack, Role.complaint_handler, f.org)  # fund.manage without ticket.approve
    other = await f.applied("1.00")
    assert (await f.decide(other["id"], "approve", who=handler)).status_code == 403


# --- money never overdrawn


async def test_given_approvals_beyond_the_balance_when_approved_then_409_and_nothing_moves(stack: Stack) -> None:
    f = await Fund(stack).open("100.00")
    first, second = await f.applied("80.00"), await f.applied("50.00")
    assert (await f.state())["available"] == "-30.00"  # applications do not reserve; approval decides
    await ok(await f.decide(first["id"], "approve"))
    r = await f.decide(second["id"], "approve")
    assert r.status_code == 409 and r.json()["type"].endswith(":fund-overdraw"), r.text
    assert "20.00" in r.json()["detail"]
    state = await f.state()
    assert (state["balance"], state["pending"], state["used"]) == ("20.00", "50.00", "80.00")
    assert (await ok(await stack.get(f.manager, f"/api/fund/usages/{second['id']}")))["status"] == "applied"
    r = await f.apply("20.01")
    assert r.status_code == 409 and r.json()["type"].endswith(":fund-overdraw"), r.text
    await ok(await f.deposit("30.00"), 201)
    assert (await ok(await f.decide(second["id"], "approve")))["status"] == "approved"
    assert (await f.state())["balance"] == "0.00"


async def test_given_two_approvals_at_once_when_both_would_overdraw_then_exactly_one_wins(stack: Stack) -> None:
    f = await Fund(stack).open("100.00")
    second_approver = await user(stack, Role.org_manager, f.org)
    await stack.token(f.approver), await stack.token(second_approver)
    a, b = await f.applied("60.00"), await f.applied("60.00")
    results = await asyncio.gather(f.decide(a["id"], "approve"), f.decide(b["id"], "approve", who=second_approver))
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    state = await f.state()
    assert (state["balance"], state["used"], state["pending"]) == ("40.00", "60.00", "60.00")

    # The same usage decided twice at once: one decision stands.
    c = await f.applied("10.00")
    results = await asyncio.gather(f.decide(c["id"], "approve"),
                                   f.decide(c["id"], "reject", who=second_approver, opinion="材料不全"))
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    final = await ok(await stack.get(f.manager, f"/api/fund/usages/{c['id']}"))
    assert len(final["history"]) == 2 and final["status"] in ("approved", "rejected")


# --- the other transitions


async def test_given_an_applied_usage_when_cancelled_or_rejected_then_pending_returns_and_later_moves_are_409(
        stack: Stack) -> None:
    f = await Fund(stack).open("100.00")
    usage, other = await f.applied("30.00"), await f.applied("20.00")
    assert (await f.decide(usage["id"], "cancel", who=f.manager)).status_code == 403  # not the applicant
    cancelled = await ok(await f.decide(usage["id"], "cancel", who=f.applicant, opinion="客户放弃"))
    assert cancelled["status"] == "cancelled"
    assert (await f.decide(usage["id"], "approve")).status_code == 409
    no_opinion = await f.decide(other["id"], "reject")
    assert no_opinion.status_code == 422 and no_opinion.json()["errors"][0]["field"] == "opinion"
    assert (await ok(await f.decide(other["id"], "reject", opinion="不符合补偿条件")))["status"] == "rejected"
    assert (await f.decide(other["id"], "settle", who=f.manager, settled_on="2026-11-23",
                           voucher_number="PZ-1")).status_code == 409
    state = await f.state()
    assert (state["balance"], state["pending"], state["available"]) == ("100.00", "0.00", "100.00")


async def test_given_an_approved_usage_when_settled_in_the_future_then_422(stack: Stack) -> None:
    f = await Fund(stack).open()
    usage = await f.applied("5.00")
    await ok(await f.decide(usage["id"], "approve"))
    r = await f.decide(usage["id"], "settle", who=f.manager, settled_on="2026-12-01", voucher_number="PZ-9")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "settled_on", r.text


# --- scoping


async def test_given_an_account_of_another_branch_when_seen_or_used_then_404_or_422(stack: Stack) -> None:
    f = await Fund(stack).open()
    usage = await f.applied("1.00")
    stranger = await user(stack, Role.org_manager, "other_branch")
    assert (await stack.get(stranger, f"/api/fund/accounts/{f.account['id']}")).status_code == 404
    assert f.account["id"] not in {a["id"] for a in await ok(await stack.get(stranger, "/api/fund/accounts"))}
    assert (await f.deposit("1.00", who=stranger)).status_code == 404
    r = await f.apply("1.00", who=stranger)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id", r.text
    assert (await stack.get(stranger, f"/api/fund/usages/{usage['id']}")).status_code == 404
    assert (await f.decide(usage["id"], "approve", who=stranger)).status_code == 404
    assert usage["id"] not in {u["id"] for u in await ok(await stack.get(stranger, "/api/fund/usages"))}
    # Below the account's org, it is out of sight too.
    below = await user(stack, Role.org_manager, await new_org(stack, "outlet"))
    assert (await stack.get(below, f"/api/fund/accounts/{f.account['id']}")).status_code == 404
    assert (await stack.get(f.approver, f"/api/fund/accounts/{f.account['id']}")).status_code == 200


async def test_given_a_ticket_outside_the_accounts_subtree_or_a_draft_when_applying_then_422(stack: Stack) -> None:
    f = await Fund(stack).open()
    sibling, above = await ticket(stack, await new_org(stack)), await ticket(stack, stack.orgs["branch"])
    for t in (sibling, above):
        r = await f.apply("1.00", ticket_id=t["id"])
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ticket_id", r.text
    draft = await ticket(stack, f.org, submit=False, who=f.manager)
    r = await f.apply("1.00", ticket_id=draft["id"])
    assert r.status_code == 422 and "草稿" in r.json()["detail"], r.text


async def test_given_accounts_when_opened_then_one_per_org_within_the_managers_subtree(stack: Stack) -> None:
    f = await Fund(stack).open(deposit=None)
    assert (f.account["org_id"], f.account["balance"]) == (f.org.id, "0.00")
    again = await stack.post(f.approver, "/api/fund/accounts", json={"org_id": f.org.id, "name": "重复"})
    assert again.status_code == 409, again.text
    outside = await stack.post(f.manager, "/api/fund/accounts",
                               json={"org_id": stack.orgs["branch"].id, "name": "越权"})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "org_id"
    agent = await user(stack, Role.agent, f.org)
    assert (await stack.post(agent, "/api/fund/accounts", json={"name": "x"})).status_code == 403
    assert (await stack.get(agent, "/api/fund/accounts")).status_code == 403


# --- amounts


BAD_AMOUNTS = ["0", "0.00", "-1.00", "1.234", "abc", "", "1e3", "10000000.01", 12.5, 100, None]


async def test_given_bad_amounts_when_deposited_or_applied_then_422_naming_the_field(stack: Stack) -> None:
    f = await Fund(stack).open()
    for amount in BAD_AMOUNTS:
        for r in (await f.deposit(amount), await f.apply(amount)):
            assert r.status_code == 422, (amount, r.text)
            assert [e["field"] for e in r.json()["errors"]] == ["amount"], amount
    state = await f.state()
    assert (state["deposited"], state["pending"]) == ("100.00", "0.00")


async def test_given_the_largest_amount_when_deposited_then_it_is_kept_to_the_fen(stack: Stack) -> None:
    f = await Fund(stack).open(deposit=None)
    for amount in ("10000000.00", "0.01", "7.5"):
        await ok(await f.deposit(amount), 201)
    assert (await f.state())["balance"] == "10000007.51"


# --- personal data


async def test_given_a_payee_when_read_then_masked_without_pii_unmask_and_audited_with_it(stack: Stack) -> None:
    f = await Fund(stack).open()
    usage = await f.applied("1.00")
    masked = await ok(await stack.get(f.manager, f"/api/fund/usages/{usage['id']}"))
    assert (masked["payee_name"], masked["payee_account"]) == ("张**", "****5678")
    clear = await ok(await stack.get(f.applicant, f"/api/fund/usages/{usage['id']}"))
    assert (clear["payee_name"], clear["payee_account"]) == ("张三丰", "6222020012345678")
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        audits = (await s.scalars(select(AuditRecord).where(AuditRecord.username == f.applicant,
                                                            AuditRecord.action == "pii.view"))).all()
    assert any(a.subject_type == "fund_usage" and a.subject_id == str(usage["id"]) for a in audits)
    agent = await user(stack, Role.agent, f.org)
    assert (await stack.get(agent, f"/api/fund/usages/{usage['id']}")).status_code == 403
