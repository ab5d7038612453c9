"""HTTP shapes of the workflow: an action request, work items, handling records."""

from __future__ import annotations

import enum
from datetime import datetime
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
    """答复: how and when the customer was told of the decision."""

    model_config = ConfigDict(extra="forbid")

    method: ReplyMethod
    told_at: AwareDatetime


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    version: int = Field(ge=1, description="the ticket's version as the actor read it")
    opinion: str | None = Field(None, max_length=2000, description="处理意见; required for return, reopen, withdraw")
    target_org_id: int | None = None
    target_user_id: int | None = None
    reply: ReplyIn | None = Field(None, description="required for reply")
    withdrawn_at: AwareDatetime | None = Field(None, description="withdraw: when the withdrawal was received")


class WorkItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    step: str
    assignee_kind: str
    assignee_user_id: int | None
    assignee_role: str | None
    org_id: int
    status: str
    received_at: datetime
    due_at: datetime
    acted_at: datetime | None


class TodoOut(WorkItemOut):
    ticket_number: str
    ticket_type: str
    subject: str


class HandlingRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    step: str
    action: str
    actor_user_id: int | None
    actor_name: str | None = None
    actor_org_id: int
    received_at: datetime
    acted_at: datetime
    opinion: str | None
    target_org_id: int | None
    target_user_id: int | None
    details: dict[str, Any]


class DoneOut(BaseModel):
    ticket_id: int
    ticket_number: str
    last_action: str
    last_acted_at: datetime


class ActionOut(BaseModel):
    ticket_id: int
    version: int
    status: str
    org_id: int
    record: HandlingRecordOut
    work_item: WorkItemOut | None
