"""HTTP schemas of the screen pop. Personal data is typed (``Phone``, ``IdNumber``) all the way down, so the one
PII mechanism (backend.audit.pii.present) masks it for roles without ``pii.unmask`` and audits it for the others."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.audit.pii import IdNumber, Phone
from backend.calls.ivr_http import CallbackOut
from backend.directory.identity import ValidIdNumber, ValidPhone, ValidPlate
from backend.directory.records import ClaimRecord, CustomerRecord, PolicyRecord
from backend.tickets.models import TicketType
from backend.tickets.schemas import DetailsOut

SEARCH_KEYS = ("phone", "id_number", "policy_number", "plate")


class ScreenPopQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str | None = Field(None, max_length=64, description="来电的通话 ID（PBX 的 Linkedid/Uniqueid）")
    node: str | None = Field(None, max_length=32, description="PBX 节点（多节点部署时与 call_id 一起确定通话）")
    phone: str | None = Field(None, max_length=32, description="来电号码（完整号码）")
    customer_id: str | None = Field(None, max_length=64, description="坐席从候选或搜索结果中选定的客户")
    policy_number: str | None = Field(None, max_length=32, description="坐席选定的保单（默认为 IVR 中输入的保单）")

    @model_validator(mode="after")
    def _something_to_go_on(self) -> ScreenPopQuery:
        if not (self.call_id or self.phone or self.customer_id):
            raise ValueError("请至少提供通话 ID、来电号码或客户 ID 之一")
        return self


class ScreenPopSearch(BaseModel):
    """What an agent types into the unknown caller's search box: one key or several (all must match)."""

    model_config = ConfigDict(extra="forbid")

    phone: ValidPhone | None = None
    id_number: ValidIdNumber | None = None
    policy_number: str | None = Field(None, min_length=4, max_length=32)
    plate: ValidPlate | None = None
    limit: int = Field(10, ge=1, le=50)

    @model_validator(mode="after")
    def _one_key(self) -> ScreenPopSearch:
        if not any((self.phone, self.id_number, self.policy_number, self.plate)):
            raise ValueError("请至少提供一个查询条件：电话、证件号、保单号或车牌号")
        return self


class IvrOut(BaseModel):
    """What the caller did in the IVR before reaching the agent. ``source`` says where it was read from:
    the stored IVR session (with its whole path), the ringing event, or the finished call's record."""

    source: Literal["ivr_session", "ringing", "call_record"]
    flow: str | None = None
    outcome: str | None = None
    service: str | None = Field(None, description="来电选择的服务：报案 投诉 咨询 保单查询 人工")
    choice: str | None = Field(None, description="主菜单按键")
    policy_number: str | None = Field(None, description="在 IVR 中输入并确认的保单号")
    queue: str | None = None
    priority: int | None = None
    customer_id: int | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    path: list[dict[str, Any]] = Field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None


class TicketBrief(BaseModel):
    """A past ticket as the pop lists it; the full ticket is at /api/tickets/{id}."""

    id: int
    number: str
    type: TicketType
    type_label: str
    status: str
    channel: str
    subject: str
    policy_number: str | None
    call_id: str | None
    received_at: datetime
    decision_due_at: datetime | None
    due_state: str
    closed_at: datetime | None
    risk_flags: list[str]


class RiskFlag(BaseModel):
    code: str
    label: str
    source: Literal["customer", "tickets", "history"] = Field(
        description="customer = 客户档案标记；tickets = 既往工单的风险提示；history = 按工单规则对本来电人的重复投诉等检查")


class Prefill(BaseModel):
    """The fields of POST /api/tickets a quick action fills in (the agent completes and submits)."""

    type: TicketType
    channel: str = "hotline"
    call_id: str | None = None
    node: str | None = None
    caller_phone: Phone | None = None
    customer_id: int | None = None
    policy_number: str | None = None
    complainant_name: str | None = None
    complainant_phone: Phone | None = None
    complainant_id_number: IdNumber | None = None
    details: DetailsOut = Field(default_factory=DetailsOut)


class QuickAction(BaseModel):
    action: Literal["new_complaint", "new_claim_report", "new_consultation"]
    label: str
    prefill: Prefill


class ScreenPopOut(BaseModel):
    """The caller's whole picture. ``customer`` is empty for an unknown caller — or one outside the agent's subtree,
    which is not told apart — and the console then offers the search box (``search_keys``)."""

    __pii_subject__ = "call"

    call_id: str | None
    node: str | None
    caller: Phone | None = Field(None, description="来电号码")
    known: bool
    matched_by: Literal["ivr", "phone", "chosen"] | None = Field(
        None, description="客户如何识别：IVR 识别、来电号码唯一匹配、坐席选定")
    ivr: IvrOut | None
    customer: CustomerRecord | None
    candidates: list[CustomerRecord] = Field(default_factory=list, description="来电号码对应多位客户时的候选")
    policies: list[PolicyRecord]
    chosen_policy_number: str | None
    claims: list[ClaimRecord] = Field(description="赔案，未结案在前")
    complaints: list[TicketBrief] = Field(description="投诉、举报、异议、信访（有处理时限的工单），最新在前")
    consultations: list[TicketBrief] = Field(description="近期咨询")
    other_tickets: list[TicketBrief] = Field(description="近期其他工单（报案、催办、意见建议）")
    callbacks: list[CallbackOut] = Field(description="预约回拨，待回拨在前")
    risk_flags: list[RiskFlag]
    quick_actions: list[QuickAction]
    search_keys: list[str] = Field(default_factory=list, description="未识别来电人时可用的查询条件")

    @property
    def id(self) -> str:
        """The PII audit names what a pop reveals after its call (backend.audit.pii reads ``id``)."""
        return self.call_id or ""
