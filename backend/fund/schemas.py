"""HTTP schemas of the complaint fund. Amounts are yuan strings (backend.fund.money); the payee's name and
bank account are PII types, masked by backend.audit.pii unless the reader holds ``pii.unmask``."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.audit.pii import BankAccount, PersonName
from backend.fund.models import FundAccount, FundTransaction, UsageStatus
from backend.fund.money import YuanIn, YuanOut


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: int | None = Field(None, description="账户所属机构，默认为本人机构（须在本人管辖范围内）")
    name: str = Field(min_length=1, max_length=64, description="账户名称")


class AccountOut(BaseModel):
    id: int
    org_id: int
    org_name: str | None = None
    name: str
    deposited: YuanOut = Field(description="累计拨入")
    used: YuanOut = Field(description="已审批及已结算的使用")
    pending: YuanOut = Field(description="待审批的申请")
    balance: YuanOut = Field(description="余额 = 累计拨入 − 已审批及已结算")
    available: YuanOut = Field(description="可用 = 余额 − 待审批")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, account: FundAccount, org_name: str | None = None) -> AccountOut:
        return cls(id=account.id, org_id=account.org_id, org_name=org_name, name=account.name,
                   deposited=account.deposited_fen, used=account.committed_fen, pending=account.pending_fen,
                   balance=account.balance_fen, available=account.available_fen, version=account.version,
                   created_at=account.created_at, updated_at=account.updated_at)


class MonthTotals(BaseModel):
    month: str = Field(description="月份（北京时间），如 2026-11")
    deposited: YuanOut
    used: YuanOut = Field(description="当月申请、已审批或已结算的使用")
    pending: YuanOut = Field(description="当月申请、尚待审批的使用")
    settled: YuanOut = Field(description="当月申请、已结算的使用")


class AccountDetail(AccountOut):
    months: list[MonthTotals] = Field(default_factory=list, description="按月汇总（最近的在前）")


class DepositIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: YuanIn = Field(description="金额（元），如 \"10000.00\"")
    note: str | None = Field(None, max_length=500, description="说明（拨款文号等）")


class DepositOut(BaseModel):
    id: int
    account_id: int
    amount: YuanOut
    note: str | None
    created_by: int | None
    created_at: datetime
    account: AccountOut


_ACCOUNT_NUMBER = re.compile(r"\d{8,30}")


class UsageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int
    ticket_id: int = Field(description="关联工单（须在账户所属机构及下级）")
    amount: YuanIn = Field(description="金额（元），如 \"1234.50\"")
    payee_name: str = Field(min_length=1, max_length=64, description="收款人")
    payee_account: str | None = Field(None, description="收款账号（银行卡号）")
    reason: str = Field(min_length=1, max_length=2000, description="使用事由")
    attachment_ids: list[int] = Field(default_factory=list, max_length=20, description="已上传的附件（证明材料）")

    @field_validator("payee_name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("收款人不能为空")
        return v

    @field_validator("payee_account")
    @classmethod
    def _account(cls, v: str | None) -> str | None:
        if v is None:
            return None
        digits = re.sub(r"[\s-]", "", v)
        if not _ACCOUNT_NUMBER.fullmatch(digits):
            raise ValueError("收款账号须为 8 至 30 位数字")
        return digits


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opinion: str | None = Field(None, max_length=2000, description="意见（驳回时必填）")


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settled_on: date = Field(description="支付日期")
    voucher_number: str = Field(min_length=1, max_length=64, description="凭证号")
    opinion: str | None = Field(None, max_length=2000)


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int | None = None
    ticket_id: int | None = None
    status: UsageStatus | None = None
    applied_from: date | None = Field(None, description="申请日期起（含，北京时间）")
    applied_to: date | None = Field(None, description="申请日期止（含，北京时间）")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)


class HistoryEntry(BaseModel):
    action: str
    user_id: int | None
    user_name: str | None
    at: datetime
    opinion: str | None = None


class UsageOut(BaseModel):
    __pii_subject__ = "fund_usage"

    id: int
    account_id: int
    org_id: int
    ticket_id: int | None
    ticket_number: str | None = None
    amount: YuanOut
    payee_name: PersonName | None = None
    payee_account: BankAccount | None = None
    reason: str | None
    status: UsageStatus
    settled_on: date | None
    voucher_number: str | None
    applied_by: int | None
    created_at: datetime
    updated_at: datetime
    version: int
    history: list[HistoryEntry]
    attachment_ids: list[int] = Field(default_factory=list)

    @classmethod
    def of(cls, usage: FundTransaction, ticket_number: str | None = None,
           attachment_ids: list[int] | None = None) -> UsageOut:
        fields: dict[str, Any] = {name: getattr(usage, name) for name in (
            "id", "account_id", "org_id", "ticket_id", "payee_name", "payee_account", "reason", "status",
            "settled_on", "voucher_number", "created_at", "updated_at", "version", "history")}
        return cls(**fields, amount=usage.amount_fen, applied_by=usage.created_by, ticket_number=ticket_number,
                   attachment_ids=attachment_ids or [])
