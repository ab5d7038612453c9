"""What GET /api/wallboard answers."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from backend.wallboard.services import AgentRow, ScopedView
from backend.wallboard.stats import SERVICE_LEVEL_SECONDS, SHORT_ABANDON_SECONDS, QueueFigures


class QueueOut(BaseModel):
    queue: str
    waiting: int = Field(description="排队中的来电")
    longest_wait_seconds: float = Field(description="当前最长等待（秒）")
    agents_by_state: dict[str, int] = Field(description="队列坐席按状态计数：ready 示闲、not_ready 示忙、wrap_up 话后处理、"
                                                        "ringing 振铃、on_call 通话中、busy、offline、logged_out")
    offered: int = Field(description="请求人工的来电（进入队列）")
    answered: int = Field(description="人工接通")
    abandoned: int = Field(description="排队后放弃")
    abandoned_short: int = Field(description="5 秒内放弃（不计入服务水平分母）")
    answered_within_sl: int = Field(description="20 秒内接通")
    handled: int = Field(description="已处理完的来电（计入 AHT）")
    service_level: float | None = Field(description="20秒服务水平（0–1）")
    answer_rate: float | None = Field(description="人工接通率（0–1）")
    abandon_rate: float | None = Field(description="放弃率（0–1）")
    asa_seconds: float | None = Field(description="平均应答速度（秒）")
    aht_seconds: float | None = Field(description="平均处理时长：通话（含保持）＋话后处理（秒）")

    @classmethod
    def of(cls, q: QueueFigures) -> QueueOut:
        return cls.model_validate(q, from_attributes=True)


class CurrentCallOut(BaseModel):
    call_id: str
    direction: str
    queue: str | None
    status: str = Field(description="ringing 振铃 | talking 通话中")
    seconds: float


class AgentOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    interface: str
    state: str
    reason: str | None
    seconds_in_state: float | None
    queues: list[str]
    handled: int = Field(description="今日处理来电")
    talk_seconds: float
    wrapup_seconds: float
    current_call: CurrentCallOut | None

    @classmethod
    def of(cls, row: AgentRow) -> AgentOut:
        f = row.figures
        call = f.current_call
        return cls(user_id=row.user_id, username=row.username, display_name=row.display_name, interface=f.interface,
                   state=f.state, reason=f.reason, seconds_in_state=f.seconds_in_state, queues=list(f.queues),
                   handled=f.handled, talk_seconds=f.talk_seconds, wrapup_seconds=f.wrapup_seconds,
                   current_call=CurrentCallOut.model_validate(call, from_attributes=True) if call else None)


class WallboardOut(BaseModel):
    day: date = Field(description="统计日（北京时间），零点清零")
    at: datetime
    service_level_seconds: float = SERVICE_LEVEL_SECONDS
    short_abandon_seconds: float = SHORT_ABANDON_SECONDS
    queues: list[QueueOut]
    agents: list[AgentOut]

    @classmethod
    def of(cls, view: ScopedView) -> WallboardOut:
        return cls(day=view.snapshot.day, at=view.snapshot.at, queues=[QueueOut.of(q) for q in view.queues],
                   agents=[AgentOut.of(a) for a in view.agents])
