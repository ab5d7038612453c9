"""HTTP routes of telephony control: thin — permission, parse, one command, its answer.

An agent acts on their own phone and only on calls it is on; a supervisor (``agent.supervise``) may
act on any call of the node and on the agents of their subtree.
"""

from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select

from backend.auth.deps import Ctx, Session, allowed
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core import events as ev
from backend.core.context import AppContext
from backend.core.problems import Invalid, NotFound
from backend.telephony.services import PauseReason, new_command_id, own_phone, phone_of, send
from backend.wallboard.services import wallboard_of

router = APIRouter(prefix="/api/telephony", tags=["telephony"])

_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_EXTENSION = re.compile(r"^[0-9]{3,6}$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str | None = Field(None, max_length=64, description="PBX node; default: this deployment's node id.")


class DialIn(_In):
    number: str = Field(..., max_length=32, description="号码：手机、座机（可带区号和连字符）")

    @field_validator("number")
    @classmethod
    def _digits(cls, v: str) -> str:
        digits = re.sub(r"[\s-]", "", v)
        if not _NUMBER.match(digits):
            raise ValueError("号码只能包含数字（3–20 位），可带区号分隔符")
        return digits


class TransferIn(_In):
    kind: Literal["blind", "attended"] = "blind"
    extension: str | None = Field(None, description="同事分机号")
    queue: str | None = Field(None, description="技能队列")

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.extension is None) == (self.queue is None):
            raise ValueError("转接目标须为分机号或队列之一")
        if self.extension is not None and not _EXTENSION.match(self.extension):
            raise ValueError("分机号应为 3–6 位数字")
        if self.queue is not None and self.kind == "attended":
            raise ValueError("咨询转接只能转给同事分机")
        return self


class RecordingIn(_In):
    start: bool


class StateIn(_In):
    ready: bool
    reason: PauseReason | None = Field(None, description="示忙原因；置闲时不填")

    @model_validator(mode="after")
    def _reason_when_paused(self) -> StateIn:
        if not self.ready and self.reason is None:
            raise ValueError("示忙须选择原因")
        return self


class QueuesIn(_In):
    queues: list[str] = Field(..., min_length=1, max_length=20)


class SpyIn(_In):
    mode: Literal["listen", "whisper"] = Field("listen", description="listen 监听（双方都听不到班长）；whisper 密语（只有坐席听到）")


class CommandOut(BaseModel):
    command_id: str
    ok: bool
    call_id: str | None = None


def _node(ctx: AppContext, body: _In | None) -> str:
    return (body.node if body else None) or ctx.settings.node_id


def _queues(ctx: AppContext, names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(ctx.settings.cti_queues))
    if unknown:
        raise Invalid(f"没有这些队列：{'、'.join(unknown)}")
    return list(dict.fromkeys(names))


async def _result(ctx: AppContext, command: ev.CtiCommand) -> CommandOut:
    result = await send(ctx, command)
    return CommandOut(command_id=result.command_id, ok=result.ok, call_id=result.call_id)


async def _on_call_as(session: Session, principal: Principal) -> str | None:
    """The phone a call command is restricted to: none for supervisors, the agent's own otherwise."""
    return None if principal.can(Permission.agent_supervise) else await own_phone(session, principal)


CallControl = Depends(allowed(Permission.call_control))


@router.post("/dial", status_code=status.HTTP_202_ACCEPTED, response_model=CommandOut, summary="点击外呼")
async def dial(body: DialIn, ctx: Ctx, session: Session, principal: Principal = CallControl) -> CommandOut:
    """Rings the agent's phone; once answered, dials the number. The outcome arrives on the websocket
    as ``call.originate_result`` with this ``command_id``."""
    settings = ctx.settings
    command = ev.OriginateCommand(
        command_id=new_command_id(), node=_node(ctx, body), requested_by=principal.user_id,
        channel=await own_phone(session, principal), context=settings.dial_context,
        exten=settings.dial_prefix + body.number, caller_id=f'"{principal.display_name}" <{body.number}>',
        timeout_seconds=30, variables={"LIANLUO_USER": str(principal.user_id)})
    return await _result(ctx, command)


@router.post("/calls/{call_id}/hangup", response_model=CommandOut, summary="挂断")
async def hangup(call_id: str, ctx: Ctx, session: Session, body: _In | None = None,
                 principal: Principal = CallControl) -> CommandOut:
    return await _result(ctx, ev.HangupCommand(command_id=new_command_id(), node=_node(ctx, body),
                                               requested_by=principal.user_id, call_id=call_id,
                                               agent_interface=await _on_call_as(session, principal)))


@router.post("/calls/{call_id}/transfer", response_model=CommandOut, summary="转接")
async def transfer(call_id: str, body: TransferIn, ctx: Ctx, session: Session,
                   principal: Principal = CallControl) -> CommandOut:
    common = {"command_id": new_command_id(), "node": _node(ctx, body), "requested_by": principal.user_id,
              "call_id": call_id, "context": ctx.settings.transfer_context}
    if body.kind == "attended":
        command: ev.CtiCommand = ev.AttendedTransferCommand(
            **common, exten=body.extension, agent_interface=await own_phone(session, principal))
    else:
        target = body.extension or _queues(ctx, [body.queue or ""])[0]
        command = ev.BlindTransferCommand(**common, exten=target, agent_interface=await _on_call_as(session, principal))
    return await _result(ctx, command)


@router.post("/calls/{call_id}/recording", response_model=CommandOut, summary="开始/停止录音")
async def recording(call_id: str, body: RecordingIn, ctx: Ctx, session: Session,
                    principal: Principal = CallControl) -> CommandOut:
    return await _result(ctx, ev.RecordingCommand(command_id=new_command_id(), node=_node(ctx, body),
                                                  requested_by=principal.user_id, call_id=call_id, start=body.start,
                                                  agent_interface=await _on_call_as(session, principal)))


async def _set_state(ctx: AppContext, interface: str, body: StateIn, principal: Principal) -> CommandOut:
    return await _result(ctx, ev.PauseCommand(command_id=new_command_id(), node=_node(ctx, body),
                                              requested_by=principal.user_id, interface=interface,
                                              paused=not body.ready, reason=body.reason if not body.ready else None))


async def _log_in(ctx: AppContext, interface: str, name: str, body: QueuesIn, principal: Principal) -> CommandOut:
    results = [await _result(ctx, ev.QueueAddCommand(command_id=new_command_id(), node=_node(ctx, body),
                                                     requested_by=principal.user_id, interface=interface,
                                                     queue=queue, member_name=name))
               for queue in _queues(ctx, body.queues)]
    return results[-1]


async def _log_out(ctx: AppContext, interface: str, principal: Principal) -> None:
    for queue in ctx.settings.cti_queues:  # the node answers "ok" for queues the agent was not in
        await send(ctx, ev.QueueRemoveCommand(command_id=new_command_id(), node=ctx.settings.node_id,
                                              requested_by=principal.user_id, interface=interface, queue=queue))


class MyStateOut(BaseModel):
    interface: str
    state: str  # logged_out, ready, not_ready, wrap_up, ringing, on_call… as the wallboard names them
    reason: str | None
    seconds_in_state: float | None
    queues: list[str]
    available_queues: list[str]
    wrapup_seconds: int  # LIANLUO_WRAPUP_SECONDS: how long 话后处理 lasts, for the console's countdown


@router.get("/agents/me/state", response_model=MyStateOut, summary="我的坐席状态（签入队列、示闲/示忙、话后处理）")
async def my_current_state(request: Request, ctx: Ctx, session: Session,
                           principal: Principal = CallControl) -> MyStateOut:
    interface = await own_phone(session, principal)
    snapshot = await wallboard_of(request).snapshot()
    mine = snapshot.agents.get(interface)
    return MyStateOut(interface=interface, state=mine.state if mine else "logged_out",
                      reason=mine.reason if mine else None,
                      seconds_in_state=mine.seconds_in_state if mine else None,
                      queues=list(mine.queues) if mine else [], available_queues=list(ctx.settings.cti_queues),
                      wrapup_seconds=ctx.settings.wrapup_seconds)


@router.put("/agents/me/state", response_model=CommandOut, summary="示闲/示忙")
async def my_state(body: StateIn, ctx: Ctx, session: Session, principal: Principal = CallControl) -> CommandOut:
    return await _set_state(ctx, await own_phone(session, principal), body, principal)


@router.put("/agents/me/queues", response_model=CommandOut, summary="签入队列（签入后为示忙，示闲后开始接听）")
async def my_login(body: QueuesIn, ctx: Ctx, session: Session, principal: Principal = CallControl) -> CommandOut:
    return await _log_in(ctx, await own_phone(session, principal), principal.display_name, body, principal)


@router.delete("/agents/me/queues", status_code=status.HTTP_204_NO_CONTENT, summary="签出全部队列")
async def my_logout(ctx: Ctx, session: Session, principal: Principal = CallControl) -> None:
    await _log_out(ctx, await own_phone(session, principal), principal)


Supervise = Depends(allowed(Permission.agent_supervise))


@router.put("/agents/{user_id}/state", response_model=CommandOut, summary="班长：设置坐席示闲/示忙")
async def agent_state(user_id: int, body: StateIn, ctx: Ctx, session: Session,
                      principal: Principal = Supervise) -> CommandOut:
    return await _set_state(ctx, await phone_of(session, user_id), body, principal)


@router.delete("/agents/{user_id}/queues", status_code=status.HTTP_204_NO_CONTENT, summary="班长：强制坐席签出")
async def agent_logout(user_id: int, ctx: Ctx, session: Session, principal: Principal = Supervise) -> None:
    await _log_out(ctx, await phone_of(session, user_id), principal)


@router.post("/calls/{call_id}/spy", response_model=CommandOut, summary="班长：监听/密语坐席通话")
async def spy(call_id: str, body: SpyIn, request: Request, ctx: Ctx, session: Session,
              principal: Principal = Supervise) -> CommandOut:
    """Rings the supervisor's phone; once answered it listens in on the agent's side of the call (ChanSpy),
    or whispers to the agent. Only calls of agents in the supervisor's subtree (404 otherwise)."""
    interface = await wallboard_of(request).agent_on_call(call_id)
    agent = await session.scalar(select(User).where(User.phone_interface == interface)) if interface else None
    if agent is None:
        raise NotFound("通话不存在、已结束或不在本机构管辖范围内")
    return await _result(ctx, ev.SpyCommand(
        command_id=new_command_id(), node=_node(ctx, body), requested_by=principal.user_id, call_id=call_id,
        agent_interface=interface, supervisor_interface=await own_phone(session, principal), mode=body.mode,
        caller_id=f'"{"密语" if body.mode == "whisper" else "监听"}" <{agent.phone_interface.rsplit("/", 1)[-1]}>'))
