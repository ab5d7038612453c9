"""Fund usage: applying to pay compensation on a ticket, approval by someone else (4-eyes), settlement.

applied → approved → settled, or applied → rejected, or applied → cancelled (by the applicant).
Each transition claims the usage with ``UPDATE … WHERE status = :from`` (of two deciders at once, one
wins; the other gets 409), then moves the account's totals with one conditional ``UPDATE``: approval
only if the balance stays ≥ 0 after it (``deposited − committed ≥ amount``), evaluated by the database
on the current row, so two approvals at once cannot overdraw. Applying is refused when the amount exceeds
the balance; applications do not reserve money (``available`` shows what would remain if every pending
one were approved), approval decides. A refusal raises, and the request's transaction rolls back whole.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.attachments.models import Attachment, OwnerKind
from backend.attachments.services import link_attachments
from backend.auth.principal import Principal
from backend.core.clock import Clock
from backend.core.db import filtered
from backend.core.problems import Conflict, Forbidden, Invalid, NotFound
from backend.fund.accounts import AccountNotFound, get_account, history_entry
from backend.fund.models import FundAccount, FundTransaction, TransactionKind, UsageStatus
from backend.fund.money import yuan
from backend.fund.schemas import SettleIn, UsageIn, UsageQuery
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.tickets.models import Ticket, TicketStatus
from backend.tickets.numbering import SHANGHAI
from backend.tickets.services import TicketNotFound, get_ticket


class UsageNotFound(NotFound):
    title, code = "基金使用记录不存在", "fund-usage-not-found"


class WrongStatus(Conflict):
    title, code = "当前状态不能执行此操作", "fund-usage-status"


class Overdraw(Conflict):
    title, code = "基金余额不足", "fund-overdraw"


class SelfApproval(Forbidden):
    title, code = "不能审批本人提出的申请", "fund-self-approval"


STATUS_LABELS = {UsageStatus.applied: "已申请", UsageStatus.approved: "已审批", UsageStatus.settled: "已结算",
                 UsageStatus.rejected: "已驳回", UsageStatus.cancelled: "已撤销"}


def _field_error(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[{"field": field, "type": "invalid", "message": message}])


async def _org_path(session: AsyncSession, org_id: int) -> str:
    org = await session.get(Org, org_id)
    assert org is not None
    return org.path


async def _move_totals(session: AsyncSession, account_id: int, now: datetime, *, pending: int = 0,
                       committed: int = 0, within_balance: int | None = None) -> bool:
    """Shift the account's totals, only if ``deposited − committed ≥ within_balance`` (when given) holds on
    the row as it is now; False when nothing changed."""
    stmt = (update(FundAccount).where(FundAccount.id == account_id)
            .values(pending_fen=FundAccount.pending_fen + pending, committed_fen=FundAccount.committed_fen + committed,
                    version=FundAccount.version + 1, updated_at=now)
            .execution_options(synchronize_session=False))
    if within_balance is not None:
        stmt = stmt.where(FundAccount.deposited_fen - FundAccount.committed_fen >= within_balance)
    result = await session.execute(stmt)
    return result.rowcount == 1  # type: ignore[attr-defined]


async def apply(session: AsyncSession, principal: Principal, clock: Clock, body: UsageIn) -> FundTransaction:
    try:
        account = await get_account(session, body.account_id)
    except AccountNotFound:
        raise _field_error("account_id", "基金账户不存在") from None
    try:
        ticket = await get_ticket(session, body.ticket_id)
    except TicketNotFound:
        raise _field_error("ticket_id", "工单不存在") from None
    if ticket.status == TicketStatus.draft:
        raise _field_error("ticket_id", "草稿工单不能申请基金")
    if not (await _org_path(session, ticket.org_id)).startswith(await _org_path(session, account.org_id)):
        raise _field_error("ticket_id", "工单不属于该基金账户所属机构及其下级")
    now = clock.now()
    if not await _move_totals(session, account.id, now, pending=body.amount, within_balance=body.amount):
        raise Overdraw("申请金额超过基金余额")
    usage = FundTransaction(org_id=account.org_id, account_id=account.id, kind=TransactionKind.usage,
                            status=UsageStatus.applied, amount_fen=body.amount, ticket_id=ticket.id,
                            payee_name=body.payee_name, payee_account=body.payee_account, reason=body.reason,
                            created_by=principal.user_id, created_at=now, updated_at=now,
                            history=[history_entry(principal, "apply", now)])
    session.add(usage)
    await session.flush()
    await link_attachments(session, principal, body.attachment_ids, OwnerKind.fund_usage, usage.id)
    return usage


async def get_usage(session: AsyncSession, usage_id: int, *, fresh: bool = False) -> FundTransaction:
    stmt = select(FundTransaction).where(FundTransaction.id == usage_id,
                                         FundTransaction.kind == TransactionKind.usage)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    usage = (await session.scalars(stmt)).first()
    if usage is None:
        raise UsageNotFound("基金使用记录不存在")
    return usage


async def _claim(session: AsyncSession, usage: FundTransaction, to: UsageStatus, now: datetime,
                 **values: Any) -> FundTransaction:
    """Move the usage from the status it was read in to ``to``, or WrongStatus if someone moved it first."""
    expected = UsageStatus(usage.status)
    result = await session.execute(
        update(FundTransaction).where(FundTransaction.id == usage.id, FundTransaction.status == expected)
        .values(status=to, version=FundTransaction.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    current = await get_usage(session, usage.id, fresh=True)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongStatus(f"该申请当前为「{STATUS_LABELS[UsageStatus(current.status)]}」，不能执行此操作")
    return current


def _record(usage: FundTransaction, principal: Principal, action: str, now: datetime, opinion: str | None) -> None:
    usage.history = [*usage.history, history_entry(principal, action, now, opinion)]


async def _decide(session: AsyncSession, principal: Principal, clock: Clock, usage_id: int, to: UsageStatus,
                  opinion: str | None) -> FundTransaction:
    usage = await get_usage(session, usage_id)
    if usage.created_by == principal.user_id:
        raise SelfApproval("申请人不能审批本人提出的申请")
    if usage.status != UsageStatus.applied:
        raise WrongStatus(f"该申请当前为「{STATUS_LABELS[UsageStatus(usage.status)]}」，不能审批")
    now = clock.now()
    usage = await _claim(session, usage, to, now)
    approving = to == UsageStatus.approved
    if not await _move_totals(session, usage.account_id, now, pending=-usage.amount_fen,
                              committed=usage.amount_fen if approving else 0,
                              within_balance=usage.amount_fen if approving else None):
        account = await get_account(session, usage.account_id, fresh=True)
        raise Overdraw(f"审批后基金余额将为负：当前余额 {yuan(account.balance_fen)} 元，申请金额 {yuan(usage.amount_fen)} 元")
    _record(usage, principal, "approve" if to == UsageStatus.approved else "reject", now, opinion)
    return usage


async def approve(session: AsyncSession, principal: Principal, clock: Clock, usage_id: int,
                  opinion: str | None) -> FundTransaction:
    return await _decide(session, principal, clock, usage_id, UsageStatus.approved, opinion)


async def reject(session: AsyncSession, principal: Principal, clock: Clock, usage_id: int,
                 opinion: str | None) -> FundTransaction:
    if not (opinion or "").strip():
        raise _field_error("opinion", "驳回须填写意见")
    return await _decide(session, principal, clock, usage_id, UsageStatus.rejected, opinion)


async def settle(session: AsyncSession, principal: Principal, clock: Clock, usage_id: int,
                 body: SettleIn) -> FundTransaction:
    usage = await get_usage(session, usage_id)
    if usage.status != UsageStatus.approved:
        raise WrongStatus("只有已审批的申请可以结算")
    now = clock.now()
    if body.settled_on > now.astimezone(SHANGHAI).date():
        raise _field_error("settled_on", "支付日期不能晚于今天")
    usage = await _claim(session, usage, UsageStatus.settled, now, settled_on=body.settled_on,
                         voucher_number=body.voucher_number.strip())
    _record(usage, principal, "settle", now, body.opinion)
    return usage


async def cancel(session: AsyncSession, principal: Principal, clock: Clock, usage_id: int,
                 opinion: str | None) -> FundTransaction:
    usage = await get_usage(session, usage_id)
    if usage.created_by != principal.user_id:
        raise Forbidden("只有申请人可以撤销申请")
    if usage.status != UsageStatus.applied:
        raise WrongStatus("只有待审批的申请可以撤销")
    now = clock.now()
    usage = await _claim(session, usage, UsageStatus.cancelled, now)
    await _move_totals(session, usage.account_id, now, pending=-usage.amount_fen)
    _record(usage, principal, "cancel", now, opinion)
    return usage


async def list_usages(session: AsyncSession, q: UsageQuery) -> list[FundTransaction]:
    since = datetime.combine(q.applied_from, time(0), tzinfo=SHANGHAI) if q.applied_from else None
    until = datetime.combine(q.applied_to + timedelta(days=1), time(0), tzinfo=SHANGHAI) if q.applied_to else None
    stmt = filtered(select(FundTransaction).where(FundTransaction.kind == TransactionKind.usage),
                    FundTransaction.created_at,
                    ((FundTransaction.account_id, q.account_id), (FundTransaction.ticket_id, q.ticket_id),
                     (FundTransaction.status, q.status)), since, until)
    stmt = stmt.order_by(FundTransaction.created_at.desc(), FundTransaction.id.desc()).limit(q.limit).offset(q.offset)
    return list(await session.scalars(stmt))


async def ticket_usages(session: AsyncSession, ticket_id: int) -> list[FundTransaction]:
    await get_ticket(session, ticket_id)
    return await list_usages(session, UsageQuery(ticket_id=ticket_id, limit=500))


async def usage_context(session: AsyncSession, usages: list[FundTransaction]) -> tuple[dict[int, str], dict[int, list[int]]]:
    """Ticket numbers (of tickets the caller sees) and attachment ids of each usage, for display."""
    ticket_ids = {u.ticket_id for u in usages if u.ticket_id is not None}
    numbers: dict[int, str] = {}
    if ticket_ids:
        numbers = dict((await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids)))).all())
    files: dict[int, list[int]] = {}
    if usages:
        # A usage's files are seen with the usage (backend.attachments.services), wherever their uploader sits.
        stmt = across_org_tree(select(Attachment.owner_id, Attachment.id)
                               .where(Attachment.owner_kind == OwnerKind.fund_usage.value,
                                      Attachment.owner_id.in_([u.id for u in usages]))
                               .order_by(Attachment.id))
        for owner_id, attachment_id in (await session.execute(stmt)).all():
            files.setdefault(owner_id, []).append(attachment_id)
    return numbers, files
