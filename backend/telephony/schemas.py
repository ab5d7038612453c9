"""HTTP schemas of telephony control. A number to dial comes either typed by the agent (``number``) or as a
reference to where the platform keeps it (``ref``: a customer's or a ticket's phone field), so a number the
agent sees masked is dialled without ever being shown to them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.telephony.services import PauseReason

_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_EXTENSION = re.compile(r"^[0-9]{3,6}$")
_NUMBER_MESSAGE = "号码只能包含数字（3–20 位），可带区号分隔符"


def digits_of(number: str) -> str | None:
    """A phone number as dialled: separators dropped; None when it is not a number."""
    digits = re.sub(r"[\s-]", "", number)
    return digits if _NUMBER.match(digits) else None


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str | None = Field(None, max_length=64, description="PBX node; default: this deployment's node id.")


class CustomerRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["customer"]
    id: str = Field(..., min_length=1, max_length=64, description="客户 ID")
    field: Literal["mobile", "phone"] = Field(..., description="mobile 手机；phone 固定电话")


class TicketRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["ticket"]
    id: int = Field(..., ge=1, description="工单 ID")
    field: Literal["caller_phone", "complainant_phone"] = Field(..., description="caller_phone 来电号码；"
                                                                                "complainant_phone 投诉人电话")


NumberRef = Annotated[CustomerRef | TicketRef, Field(discriminator="kind")]


class DialIn(In):
    number: str | None = Field(None, max_length=32, description="号码：手机、座机（可带区号和连字符）")
    ref: NumberRef | None = Field(None, description="号码所在之处（客户或工单的电话字段）：按引用拨打，号码不经过坐席")

    @field_validator("number")
    @classmethod
    def _digits(cls, v: str | None) -> str | None:
        if v is None:
            return v
        digits = digits_of(v)
        if digits is None:
            raise ValueError(_NUMBER_MESSAGE)
        return digits

    @model_validator(mode="after")
    def _one_source(self) -> DialIn:
        if (self.number is None) == (self.ref is None):
            raise ValueError("请提供拨打号码或号码来源（ref）之一")
        return self


class TransferIn(In):
    kind: Literal["blind", "attended"] = "blind"
    extension: str | None = Field(None, description="同事分机号")
    queue: str | None = Field(None, description="技能队列")
    number: str | None = Field(None, max_length=32, description="外线号码（经拨号前缀转出）")

    @field_validator("number")
    @classmethod
    def _digits(cls, v: str | None) -> str | None:
        if v is None:
            return v
        digits = digits_of(v)
        if digits is None or digits.startswith("+"):  # an attended transfer dials it as DTMF: digits only
            raise ValueError("外线号码只能包含数字（3–20 位），可带区号分隔符")
        return digits

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if sum(t is not None for t in (self.extension, self.queue, self.number)) != 1:
            raise ValueError("转接目标须为分机号、队列或外线号码之一")
        if self.extension is not None and not _EXTENSION.match(self.extension):
            raise ValueError("分机号应为 3–6 位数字")
        if self.queue is not None and self.kind == "attended":
            raise ValueError("咨询转接只能转给同事分机或外线号码")
        return self


class HoldIn(In):
    on: bool = Field(..., description="true 保持；false 取消保持")


class RecordingIn(In):
    start: bool


class StateIn(In):
    ready: bool
    reason: PauseReason | None = Field(None, description="示忙原因；置闲时不填")

    @model_validator(mode="after")
    def _reason_when_paused(self) -> StateIn:
        if not self.ready and self.reason is None:
            raise ValueError("示忙须选择原因")
        return self


class QueuesIn(In):
    queues: list[str] = Field(..., min_length=1, max_length=20)


class SpyIn(In):
    mode: Literal["listen", "whisper"] = Field("listen", description="listen 监听（双方都听不到班长）；whisper 密语（只有坐席听到）")


class CommandOut(BaseModel):
    command_id: str
    ok: bool
    call_id: str | None = None


class MyCallOut(BaseModel):
    """The call the agent's phone is on now, so a console opened mid-call (a reload, a second tab) shows it."""

    call_id: str
    direction: str
    queue: str | None
    status: str  # ringing | talking
    seconds: float
    caller: str | None  # the number as the agent's ringing frame carried it


class MyStateOut(BaseModel):
    interface: str
    state: str  # logged_out, ready, not_ready, wrap_up, ringing, on_call… as the wallboard names them
    reason: str | None
    seconds_in_state: float | None
    queues: list[str]
    available_queues: list[str]
    wrapup_seconds: int  # LIANLUO_WRAPUP_SECONDS: how long 话后处理 lasts, for the console's countdown
    call: MyCallOut | None = None
