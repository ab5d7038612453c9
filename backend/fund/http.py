"""HTTP routes of the complaint fund (投诉基金): accounts, deposits, usages and their decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.fund import accounts, usages
from backend.fund.models import FundTransaction
from backend.fund.schemas import (
    AccountDetail,
    AccountIn,
    AccountOut,
    DecisionIn,
    DepositIn,
    DepositOut,
    MonthTotals,
    SettleIn,
    UsageIn,
    UsageOut,
    UsageQuery,
)

router = APIRouter(prefix="/api", tags=["fund"])

FundReader = Annotated[Principal, Depends(allowed(Permission.fund_read))]
FundManager = Annotated[Principal, Depends(allowed(Permission.fund_manage))]
Approver = Annotated[Principal, Depends(allowed(Permission.ticket_approve))]
Decision = Annotated[DecisionIn | None, Body()]


async def _usages_out(session: AsyncSession, principal: Principal, rows: list[FundTransaction]) -> list[UsageOut]:
    numbers, files = await usages.usage_context(session, rows)
    out = [UsageOut.of(u, numbers.get(u.ticket_id or 0), files.get(u.id)) for u in rows]
    return await present(out, principal, session)


async def _usage_out(session: AsyncSession, principal: Principal, usage: FundTransaction) -> UsageOut:
    return (await _usages_out(session, principal, [usage]))[0]


@router.get("/fund/accounts", response_model=list[AccountOut], summary="基金账户列表（本机构及下级）")
async def account_list(session: Session, principal: FundReader) -> list[AccountOut]:
    return [AccountOut.of(a, name) for a, name in await accounts.list_accounts(session)]


@router.post("/fund/accounts", response_model=AccountOut, status_code=201, summary="开立基金账户（每个机构一个）",
             responses={409: {"description": "该机构已有基金账户"}})
async def account_open(body: AccountIn, ctx: Ctx, session: Session, principal: FundManager) -> AccountOut:
    account = await accounts.open_account(session, principal, ctx.clock, body)
    return AccountOut.of(account, await accounts.org_name(session, account.org_id))


@router.get("/fund/accounts/{account_id}", response_model=AccountDetail, summary="基金账户详情：余额、可用、按月汇总")
async def account_detail(account_id: int, session: Session, principal: FundReader) -> AccountDetail:
    account = await accounts.get_account(session, account_id)
    months = [MonthTotals(**m) for m in await accounts.month_totals(session, account.id)]
    base = AccountOut.of(account, await accounts.org_name(session, account.org_id))
    return AccountDetail(**dict(base), months=months)


@router.post("/fund/accounts/{account_id}/deposits", response_model=DepositOut, status_code=201, summary="拨入资金")
async def account_deposit(account_id: int, body: DepositIn, ctx: Ctx, session: Session,
                          principal: FundManager) -> DepositOut:
    row, account = await accounts.deposit(session, principal, ctx.clock, account_id, body)
    return DepositOut(id=row.id, account_id=account.id, amount=row.amount_fen, note=row.reason,
                      created_by=row.created_by, created_at=row.created_at,
                      account=AccountOut.of(account, await accounts.org_name(session, account.org_id)))


@router.get("/fund/usages", response_model=list[UsageOut], summary="基金使用记录（可按账户、工单、状态、申请日期筛选）")
async def usage_list(session: Session, principal: FundReader,
                     query: Annotated[UsageQuery, Query()]) -> list[UsageOut]:
    return await _usages_out(session, principal, await usages.list_usages(session, query))


@router.post("/fund/usages", response_model=UsageOut, status_code=201, summary="申请使用基金（关联工单）",
             responses={409: {"description": "申请金额超过基金余额"}})
async def usage_apply(body: UsageIn, ctx: Ctx, session: Session, principal: FundManager) -> UsageOut:
    return await _usage_out(session, principal, await usages.apply(session, principal, ctx.clock, body))


@router.get("/fund/usages/{usage_id}", response_model=UsageOut, summary="基金使用记录详情")
async def usage_detail(usage_id: int, session: Session, principal: FundReader) -> UsageOut:
    return await _usage_out(session, principal, await usages.get_usage(session, usage_id))


@router.post("/fund/usages/{usage_id}/approve", response_model=UsageOut, summary="审批通过（不能审批本人的申请）",
             responses={409: {"description": "状态已变化，或审批后余额将为负"}})
async def usage_approve(usage_id: int, body: Decision = None, *, ctx: Ctx, session: Session, principal: Approver) -> UsageOut:
    return await _usage_out(session, principal, await usages.approve(session, principal, ctx.clock, usage_id,
                                                                     body.opinion if body else None))


@router.post("/fund/usages/{usage_id}/reject", response_model=UsageOut, summary="驳回（须填写意见）")
async def usage_reject(usage_id: int, body: Decision = None, *, ctx: Ctx, session: Session, principal: Approver) -> UsageOut:
    return await _usage_out(session, principal, await usages.reject(session, principal, ctx.clock, usage_id,
                                                                    body.opinion if body else None))


@router.post("/fund/usages/{usage_id}/settle", response_model=UsageOut, summary="登记支付结算（支付日期、凭证号）")
async def usage_settle(usage_id: int, body: SettleIn, ctx: Ctx, session: Session, principal: FundManager) -> UsageOut:
    return await _usage_out(session, principal, await usages.settle(session, principal, ctx.clock, usage_id, body))


@router.post("/fund/usages/{usage_id}/cancel", response_model=UsageOut, summary="撤销本人的待审批申请")
async def usage_cancel(usage_id: int, body: Decision = None, *, ctx: Ctx, session: Session, principal: FundManager) -> UsageOut:
    return await _usage_out(session, principal, await usages.cancel(session, principal, ctx.clock, usage_id,
                                                                    body.opinion if body else None))


@router.get("/tickets/{ticket_id}/fund-usages", response_model=list[UsageOut], summary="工单的基金使用记录")
async def ticket_fund_usages(ticket_id: int, session: Session, principal: FundReader) -> list[UsageOut]:
    return await _usages_out(session, principal, await usages.ticket_usages(session, ticket_id))
