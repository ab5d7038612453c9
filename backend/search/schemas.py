"""HTTP shapes of search: the query parameters of each list (validated: anything wrong is a 422 naming the field)
and the pages answered (``has_more`` and an opaque ``next_cursor`` rather than a total, which would cost a
COUNT over the whole match on every page)."""

from __future__ import annotations

import enum
import unicodedata
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backend.directory.identity import ValidIdNumber, ValidPhone
from backend.search.keyset import MAX_ID
from backend.tickets.models import TicketStatus, TicketType
from backend.tickets.schemas import TicketOut
from backend.workflow.processes import Action
from backend.workflow.schemas import HandlingRecordOut


def _printable(value: str) -> str:
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("含有不允许的控制字符")
    return value.strip()


def Text(max_length: int) -> type[str]:  # noqa: N802 - reads as a type in the models below
    return Annotated[str, Field(max_length=max_length), AfterValidator(_printable)]  # type: ignore[return-value]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]


class TicketSort(enum.StrEnum):
    received_desc = "received_desc"  # 受理时间，最新在前
    received_asc = "received_asc"  # 受理时间，最早在前
    due_asc = "due_asc"  # 处理时限，最早到期在前（无时限的在最后）


class _Ranges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _range_in_order(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name or ""
        start = info.data.get(name.removesuffix("_to") + "_from") if name.endswith("_to") else None
        if start is not None and value is not None and value < start:  # type: ignore[operator]
            raise ValueError("截止日期不能早于起始日期")
        return value


class TicketFilters(_Ranges):
    """Every filter is AND-ed. Dates are whole days in Beijing time, both ends included."""

    q: str | None = Field(None, max_length=200, description="全文检索：事由、诉求、经过中须含有的词（空格分隔，均须命中）")
    number: Text(32) | None = Field(None, description="工单编号（完整）")
    type: TicketType | None = None
    status: TicketStatus | None = None
    channel: Text(32) | None = Field(None, description="渠道代码")
    cause: Text(64) | None = Field(None, description="投诉事由代码")
    sub_cause: Text(64) | None = Field(None, description="投诉子事由代码")
    line_of_business: Text(64) | None = Field(None, description="险种代码")
    caller_phone: ValidPhone | None = Field(None, description="来电号码（完整）")
    complainant_phone: ValidPhone | None = Field(None, description="投诉人电话（完整）")
    id_number: ValidIdNumber | None = Field(None, description="投诉人证件号码（完整）")
    policy_number: Text(32) | None = Field(None, description="保单号（完整）")
    customer_id: Id | None = None
    org_id: Id | None = Field(None, description="所属机构（须在本人管辖范围内）")
    subtree: bool = Field(False, description="含 org_id 的下级机构")
    created_by: Id | None = Field(None, description="登记人用户 id")
    priority: int | None = Field(None, ge=-1000, le=1000, description="优先级")
    supervised: bool | None = Field(None, description="是否已督办")
    due_state: Literal["normal", "due_soon", "overdue"] | None = Field(None, description="时效状态")
    received_from: Day | None = Field(None, description="受理日期起")
    received_to: Day | None = Field(None, description="受理日期止")
    due_from: Day | None = Field(None, description="处理时限起")
    due_to: Day | None = Field(None, description="处理时限止")
    closed_from: Day | None = Field(None, description="办结日期起")
    closed_to: Day | None = Field(None, description="办结日期止")
    sort: TicketSort = TicketSort.received_desc


class TicketSearch(TicketFilters):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200, description="上一页返回的 next_cursor")


class RecordFilters(_Ranges):
    """处理记录查询, newest first. Dates are whole days in Beijing time, both ends included."""

    action: Action | None = Field(None, description="处理方式")
    org_id: Id | None = Field(None, description="办理单位（处理人所在机构，须在本人管辖范围内）")
    subtree: bool = Field(False, description="含 org_id 的下级机构")
    actor_user_id: Id | None = Field(None, description="处理人用户 id")
    ticket_number: Text(32) | None = Field(None, description="工单编号（完整）")
    acted_from: Day | None = Field(None, description="处理日期起")
    acted_to: Day | None = Field(None, description="处理日期止")


class RecordSearch(RecordFilters):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200, description="上一页返回的 next_cursor")


class TicketPage(BaseModel):
    items: list[TicketOut]
    has_more: bool
    next_cursor: str | None = Field(None, description="下一页的 cursor 参数；没有更多时为空")


class RecordHit(HandlingRecordOut):
    ticket_number: str
    ticket_type: TicketType


class RecordPage(BaseModel):
    items: list[RecordHit]
    has_more: bool
    next_cursor: str | None = None
