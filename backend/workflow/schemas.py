"""HTTP shapes of the workflow: an action request, work items, handling records, lists."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.workflow.processes import Action


class ReplyMethod(enum.StrEnum):
    phone = "phone"  # 电话
    sms = "sms"  # 短信
    letter = "letter"  # 信函
    in_person = "in_person"  # 面谈
    email = "email"
    wechat = "wechat"


class ReplyIn(BaseModel):
    """答复: how and when the customer was told of the decision, and what it was."""

    model_config = ConfigDict(extra="forbid")

    method: ReplyMethod
    told_at: AwareDatetime
    result: str | None = Field(None, max_length=2000, description="处理结果 as told to the customer")
    satisfied: bool | None = Field(None, description="是否满足诉求")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    version: int = Field(ge=1, description="the ticket's version as the actor read it")
    opinion: str | None = Field(None, max_length=2000,
                                description="处理意见; required for return, reopen, withdraw, countersign, sign, "
                                            "propose, reject, extend, supervise, urge, merge")
    work_item_id: int | None = Field(None, description="the work item acted on when the actor holds several on "
                                                       "this ticket (a countersign or approval item)")
    target_org_id: int | None = None
    target_user_id: int | None = None
    target_org_ids: list[int] | None = Field(None, max_length=20, description="countersign: the units asked")
    reply: ReplyIn | None = Field(None, description="required for reply")
    withdrawn_at: AwareDatetime | None = Field(None, description="withdraw: when the withdrawal was received")
    merge_into_ticket_id: int | None = Field(None, description="merge: the open ticket this one joins")
    appraisal_from: date | None = Field(None, description="appraisal: first day of external appraisal")
    appraisal_to: date | None = Field(None, description="appraisal: last day of external appraisal")
    customer_told: bool = Field(False, description="extend beyond 30 days, appraisal: the complainant was told")
    attachment_ids: list[int] = Field(default_factory=list, max_length=20,
                                      description="uploads (POST /api/attachments) that belong to this handling record")


class WorkItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    step: str
    kind: str
    assignee_kind: str
    assignee_user_id: int | None
    assignee_role: str | None
    org_id: int
    status: str
    received_at: datetime
    due_at: datetime
    due_state: str
    acted_at: datetime | None
    details: dict[str, Any]


class TodoOut(WorkItemOut):
    ticket_number: str
    ticket_type: str
    subject: str
    priority: int
    decision_due_at: datetime | None


class HandlingRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    step: str
    action: str
    actor_user_id: int | None
    actor_name: str | None = None
    actor_org_id: int
    actor_org_name: str | None = None
    received_at: datetime
    acted_at: datetime
    opinion: str | None
    target_org_id: int | None
    target_org_name: str | None = None
    target_user_id: int | None
    details: dict[str, Any]
    attachment_ids: list[int] = Field(default_factory=list)


class DoneOut(BaseModel):
    ticket_id: int
    ticket_number: str
    last_action: str
    last_acted_at: datetime


class TicketLine(BaseModel):
    """One ticket in 我的已结案, 督办件, 将超期件."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    type: str
    status: str
    subject: str
    org_id: int
    priority: int
    due_state: str
    received_at: datetime
    decision_due_at: datetime | None
    supervised_at: datetime | None
    closed_at: datetime | None


class ActionOut(BaseModel):
    ticket_id: int
    version: int
    status: str
    org_id: int
    decision_due_at: datetime | None
    decision_days: int | None
    record: HandlingRecordOut
    work_item: WorkItemOut | None
    work_items: list[WorkItemOut] = Field(default_factory=list, description="every work item the action created")
