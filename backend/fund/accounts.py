"""Fund accounts: opening one for an org, deposits, balances and monthly totals.

Whoever holds ``fund.manage`` may open an account for their org or one beneath it (one per org) and
deposit into any account their subtree holds; every change to an account's totals is one ``UPDATE`` of
its row, so concurrent writers queue on the row rather than overwrite each other.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.db import upsert
from backend.core.problems import Conflict, Invalid, NotFound
from backend.fund.models import POSTED, FundAccount, FundTransaction, TransactionKind, UsageStatus
from backend.fund.schemas import AccountIn, DepositIn
from backend.orgs.models import Org
from backend.tickets.numbering import SHANGHAI


class AccountNotFound(NotFound):
    title, code = "基金账户不存在", "fund-account-not-found"


class AccountExists(Conflict):
    title, code = "该机构已有基金账户", "fund-account-exists"


def history_entry(principal: Principal, action: str, at: datetime, opinion: str | None = None) -> dict[str, Any]:
    return {"action": action, "user_id": principal.user_id, "user_name": principal.display_name,
            "at": at.isoformat(), "opinion": opinion}


async def open_account(session: AsyncSession, principal: Principal, clock: Clock, body: AccountIn) -> FundAccount:
    org = await session.get(Org, body.org_id if body.org_id is not None else principal.org_id)
    if org is None or not org.active or not principal.scope.contains_path(org.path):
        raise Invalid("机构不存在或不在您的管辖范围内",
                      errors=[{"field": "org_id", "type": "not_found", "message": "机构不存在或不在管辖范围内"}])
    now = clock.now()
    table = FundAccount.__table__
    stmt = (upsert(session, FundAccount)
            .values(org_id=org.id, name=body.name.strip(), deposited_fen=0, committed_fen=0, pending_fen=0, version=1,
                    created_by=principal.user_id, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["org_id"]).returning(table.c.id))
    account_id = (await session.execute(stmt)).scalar()
    if account_id is None:
        raise AccountExists(f"「{org.name}」已有基金账户")
    return await get_account(session, account_id)


async def get_account(session: AsyncSession, account_id: int, *, fresh: bool = False) -> FundAccount:
    """The account if the caller's subtree holds it; ``fresh`` re-reads it after an UPDATE of its totals."""
    stmt = select(FundAccount).where(FundAccount.id == account_id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    account = (await session.scalars(stmt)).first()
    if account is None:
        raise AccountNotFound("基金账户不存在")
    return account


async def list_accounts(session: AsyncSession) -> list[tuple[FundAccount, str]]:
    stmt = select(FundAccount, Org.name).join(Org, Org.id == FundAccount.org_id).order_by(Org.path)
    return [(account, name) for account, name in (await session.execute(stmt)).all()]


async def org_name(session: AsyncSession, org_id: int) -> str | None:
    org = await session.get(Org, org_id)
    return org.name if org else None


async def deposit(session: AsyncSession, principal: Principal, clock: Clock, account_id: int,
                  body: DepositIn) -> tuple[FundTransaction, FundAccount]:
    account = await get_account(session, account_id)
    now = clock.now()
    await session.execute(update(FundAccount).where(FundAccount.id == account.id)
                          .values(deposited_fen=FundAccount.deposited_fen + body.amount,
                                  version=FundAccount.version + 1, updated_at=now)
                          .execution_options(synchronize_session=False))
    row = FundTransaction(org_id=account.org_id, account_id=account.id, kind=TransactionKind.deposit, status=POSTED,
                          amount_fen=body.amount, reason=body.note, created_by=principal.user_id, created_at=now,
                          updated_at=now, history=[history_entry(principal, "deposit", now, body.note)])
    session.add(row)
    await session.flush()
    return row, await get_account(session, account.id, fresh=True)


async def month_totals(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    """Per month (Asia/Shanghai) of recording: deposits, and usage applied that month by where it stands now."""
    stmt = (select(FundTransaction.created_at, FundTransaction.kind, FundTransaction.status, FundTransaction.amount_fen)
            .where(FundTransaction.account_id == account_id))
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"deposited": 0, "used": 0, "pending": 0, "settled": 0})
    for created_at, kind, status, amount in (await session.execute(stmt)).all():
        month = totals[created_at.astimezone(SHANGHAI).strftime("%Y-%m")]
        if kind == TransactionKind.deposit:
            month["deposited"] += amount
        elif status in (UsageStatus.approved, UsageStatus.settled):
            month["used"] += amount
            if status == UsageStatus.settled:
                month["settled"] += amount
        elif status == UsageStatus.applied:
            month["pending"] += amount
    return [{"month": m, **totals[m]} for m in sorted(totals, reverse=True)]
