"""HTTP schemas of call records and agent-state history. Phone numbers are ``Phone``: masked by
backend.audit.pii unless the reader holds ``pii.unmask``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.audit.pii import Phone
from backend.calls.models import AgentStateRecord, CallRecord


class CallQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(None, description="开始时间（含），按呼叫开始时间")
    until: datetime | None = Field(None, description="结束时间（不含）")
    direction: Literal["inbound", "outbound"] | None = None
    queue: str | None = Field(None, max_length=64)
    agent_user_id: int | None = None
    answered: bool | None = None
    abandoned: bool | None = None
    caller: str | None = Field(None, max_length=32, description="主叫号码（完整号码）")
    node: str | None = Field(None, max_length=32)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)


class AgentStateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int | None = None
    interface: str | None = Field(None, max_length=64)
    since: datetime | None = None
    until: datetime | None = None
    node: str | None = Field(None, max_length=32)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=100_000)


class TransferOut(BaseModel):
    kind: str
    target: str | None = None
    at: datetime


class CallOut(BaseModel):
    __pii_subject__ = "call"
    id: int
    org_id: int
    node: str
    call_id: str
    direction: str
    caller: Phone | None = None
    dialled: Phone | None = None  # an outbound call's customer
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_seconds: float
    wait_seconds: float | None
    ring_seconds: float | None
    talk_seconds: float | None
    hold_seconds: float
    queue: str | None
    ivr: dict[str, str]
    agent_interface: str | None
    agent_user_id: int | None
    agent_name: str | None
    transfers: list[TransferOut]
    transfer_count: int
    hangup_cause: int | None
    hangup_cause_text: str | None
    answered: bool
    abandoned: bool
    lost_during_outage: bool
    has_recording: bool
    command_id: str | None

    @classmethod
    def of(cls, r: CallRecord) -> CallOut:
        fields = {name: getattr(r, name) for name in cls.model_fields if name not in ("has_recording", "transfers")}
        return cls(**fields, transfers=[TransferOut.model_validate(t) for t in r.transfers],
                   has_recording=bool(r.recording_file))


class AgentStateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    node: str
    interface: str
    user_id: int | None
    agent_name: str | None
    state: str
    reason: str | None
    queues: list[str]
    call_id: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None

    @classmethod
    def of(cls, r: AgentStateRecord) -> AgentStateOut:
        return cls.model_validate(r)


class IvrSessionOut(BaseModel):
    __pii_subject__ = "ivr_session"
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    node: str
    call_id: str
    flow: str
    outcome: str
    service: str | None
    queue: str | None
    priority: int | None
    caller: Phone | None = None
    customer_id: int | None
    variables: dict[str, str]
    path: list[dict[str, Any]]
    steps: int
    started_at: datetime
    ended_at: datetime
    duration_seconds: float


class LinkedTicketOut(BaseModel):
    id: int
    number: str
    type: str
    status: str


class CallDetailOut(CallOut):
    """One call with the caller's path through the IVR before it reached a queue, and the tickets
    registered from it (those the reader may see)."""

    ivr_sessions: list[IvrSessionOut] = []
    tickets: list[LinkedTicketOut] = []
