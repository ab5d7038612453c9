"""What the directory hands out, whichever adapter serves it. These are also the API's output schemas;
PII fields are typed so backend.audit.pii can mask or audit them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.audit.pii import BankAccount, IdNumber, Phone
from backend.directory.identity import ValidEmail, ValidIdNumber, ValidPhone, ValidPlate


class CustomerRecord(BaseModel):
    __pii_subject__ = "customer"
    id: str
    org_id: int
    org_name: str | None = None
    name: str
    gender: str | None = None
    birth_date: date | None = None
    id_type: str = "resident_id"
    id_number: IdNumber | None = None
    mobile: Phone | None = None
    phone: Phone | None = None
    email: str | None = None
    address: str | None = None
    bank_account: BankAccount | None = None
    level: str = "normal"
    risk_flags: list[str] = Field(default_factory=list)


class PolicyRecord(BaseModel):
    __pii_subject__ = "policy"
    id: str
    policy_number: str
    org_id: int
    org_name: str | None = None
    line: str
    line_label: str
    product_name: str
    status: str
    status_label: str
    holder_id: str
    holder_name: str | None = None
    insured_id: str
    insured_name: str | None = None
    signed_date: date
    effective_date: date
    expiry_date: date | None = None
    premium: Decimal
    sum_insured: Decimal
    payment_frequency: str
    payment_frequency_label: str
    payment_years: int
    next_premium_date: date | None = None
    sales_channel: str | None = None
    sales_agent_name: str | None = None
    sales_agent_code: str | None = None
    plate_number: str | None = None
    vin: str | None = None


class ClaimRecord(BaseModel):
    __pii_subject__ = "claim"
    id: str
    claim_number: str
    org_id: int
    policy_number: str
    claimant_id: str
    claimant_name: str | None = None
    status: str
    status_label: str
    accident_at: datetime
    reported_at: datetime
    closed_at: datetime | None = None
    cause: str
    description: str | None = None
    amount_claimed: Decimal | None = None
    amount_paid: Decimal | None = None


class CustomerQuery(BaseModel):
    """How a caller is found: by phone (caller id), ID number, policy number, plate or name."""

    model_config = ConfigDict(extra="forbid")
    phone: ValidPhone | None = None
    id_number: ValidIdNumber | None = None
    policy_number: str | None = Field(None, min_length=4, max_length=32)
    plate_number: ValidPlate | None = None
    name: str | None = Field(None, min_length=2, max_length=64)
    limit: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def _one_criterion(self) -> CustomerQuery:
        if not any((self.phone, self.id_number, self.policy_number, self.plate_number, self.name)):
            raise ValueError("请至少提供一个查询条件：电话、证件号、保单号、车牌号或姓名")
        return self


class CustomerPatch(BaseModel):
    """Contact details an agent may correct."""

    model_config = ConfigDict(extra="forbid")
    mobile: ValidPhone | None = None
    phone: ValidPhone | None = None
    email: ValidEmail | None = None
    address: str | None = Field(None, max_length=256)


class CustomerIn(CustomerPatch):
    """A new customer registered by an agent (e.g. an unknown caller)."""

    org_id: int
    name: str = Field(min_length=1, max_length=64)
    gender: str | None = Field(None, pattern=r"^[MF]$")
    id_number: ValidIdNumber | None = None

    @model_validator(mode="after")
    def _contact(self) -> CustomerIn:
        if not (self.mobile or self.phone):
            raise ValueError("至少需要一个联系电话")
        return self
