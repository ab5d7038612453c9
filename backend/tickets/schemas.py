"""HTTP schemas of tickets. Contact and identity data are ``Phone``/``IdNumber`` on the way out (masked by
backend.audit.pii unless the reader holds ``pii.unmask``) and validated, normalised types on the way in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_serializer

from backend.audit.pii import IdNumber, Phone
from backend.directory.identity import ValidIdNumber, ValidPhone
from backend.tickets.models import Ticket, TicketStatus, TicketType


class TicketFields(BaseModel):
    """What a registering user fills in, whatever the type; ``details`` carries the type's own fields."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field("hotline", max_length=32, description="渠道（代码表 channel）")
    subject: str = Field(min_length=1, max_length=2000, description="事由")
    demand: str | None = Field(None, max_length=2000, description="诉求")
    customer_id: int | None = None
    caller_phone: ValidPhone | None = Field(None, description="来电号码")
    complainant_name: str | None = Field(None, max_length=64)
    complainant_phone: ValidPhone | None = None
    complainant_id_number: ValidIdNumber | None = None
    policy_number: str | None = Field(None, max_length=32)
    call_id: str | None = Field(None, max_length=64, description="来源通话")
    node: str | None = Field(None, max_length=32)
    received_at: AwareDatetime | None = Field(None, description="受理时间，默认为当前时间")
    details: dict[str, Any] = Field(default_factory=dict, description="业务类型专有字段")


class TicketIn(TicketFields):
    type: TicketType
    submit: bool = Field(False, description="false = 暂存为草稿")
    attachment_ids: list[int] = Field(default_factory=list, max_length=20,
                                      description="已上传的附件（POST /api/attachments），登记时关联到工单")


class TicketPatch(BaseModel):
    """Only the fields sent are changed; ``version`` is the one the editor read."""

    model_config = ConfigDict(extra="forbid")

    version: int
    channel: str | None = Field(None, max_length=32)
    subject: str | None = Field(None, min_length=1, max_length=2000)
    demand: str | None = Field(None, max_length=2000)
    customer_id: int | None = None
    caller_phone: ValidPhone | None = None
    complainant_name: str | None = Field(None, max_length=64)
    complainant_phone: ValidPhone | None = None
    complainant_id_number: ValidIdNumber | None = None
    policy_number: str | None = Field(None, max_length=32)
    received_at: AwareDatetime | None = None
    details: dict[str, Any] | None = None


class TicketQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TicketType | None = None
    status: TicketStatus | None = None
    number: str | None = Field(None, max_length=32)
    caller_phone: str | None = Field(None, max_length=32, description="来电号码（完整号码）")
    customer_id: int | None = None
    received_from: date | None = Field(None, description="受理日期起（含，北京时间）")
    received_to: date | None = Field(None, description="受理日期止（含，北京时间）")
    due_before: datetime | None = Field(None, description="处理时限早于")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)


class DetailsOut(BaseModel):
    """A ticket's type fields as shown: as stored, except that the personal data among them is typed,
    so the one PII mechanism (``present``) masks or audits it like the ticket's own fields."""

    model_config = ConfigDict(extra="allow")

    reporter_phone: Phone | None = None  # 报案人电话 (claim reports)

    @model_serializer(mode="wrap")
    def _only_what_is_there(self, handler):  # type: ignore[no-untyped-def]
        return {k: v for k, v in handler(self).items() if not (k == "reporter_phone" and v is None)}


class TicketOut(BaseModel):
    __pii_subject__ = "ticket"
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    org_id: int
    type: TicketType
    status: TicketStatus
    channel: str
    subject: str
    demand: str | None
    customer_id: int | None
    caller_phone: Phone | None = None
    complainant_name: str | None
    complainant_phone: Phone | None = None
    complainant_id_number: IdNumber | None = None
    policy_number: str | None
    call_id: str | None
    node: str | None
    received_at: datetime
    decision_due_at: datetime | None
    decision_days: int | None = None
    excluded_days: int = 0
    due_state: str = "normal"
    priority: int = 0
    supervised_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into_id: int | None = None
    details: DetailsOut
    risk_flags: list[str]
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    version: int

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls.model_validate(t)
