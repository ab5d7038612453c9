"""HTTP routes of telephony control: thin — permission, parse, one command, its answer.

An agent acts on their own phone and only on calls it is on; a supervisor (``agent.supervise``) may
act on any call of the node and on the agents of their subtree.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select

from backend.auth.deps import Ctx, Session, allowed
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core import events as ev
from backend.core.context import AppContext
from backend.core.problems import Invalid, NotFound
from backend.orgs.services import org_path_or_root
from backend.telephony.dialling import click_to_call, dial_exten
from backend.telephony.schemas import (
    CommandOut,
    DialIn,
    HoldIn,
    In,
    MyCallOut,
    MyStateOut,
    QueuesIn,
    RecordingIn,
    SpyIn,
    StateIn,
    TransferIn,
)
from backend.telephony.services import new_command_id, own_phone, phone_of, send
from backend.wallboard.services import wallboard_of

router = APIRouter(prefix="/api/telephony", tags=["telephony"])
_NO_CALL = "通话不存在、已结束或不在本机构管辖范围内"


def _node(ctx: AppContext, body: In | None) -> str:
    return (body.node if body else None) or ctx.settings.node_id


def _queues(ctx: AppContext, names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(ctx.settings.cti_queues))
    if unknown:
        raise Invalid(f"没有这些队列：{'、'.join(unknown)}")
    return list(dict.fromkeys(names))


async def _result(ctx: AppContext, command: ev.CtiCommand) -> CommandOut:
    result = await send(ctx, command)
    return CommandOut(command_id=result.command_id, ok=result.ok, call_id=result.call_id)


async def _on_call_as(request: Request, ctx: AppContext, session: Session, principal: Principal,
                      call_id: str) -> str | None:
    """The phone a call command is restricted to (the node refuses unless that phone is on the call). An agent:
    their own. A supervisor: the phone of the agent on the call, who must be of the supervisor's subtree; a call
    no agent has taken (waiting in a queue) only for those who see such calls, the CTI org's supervisors
    (``cti_org_code``). Anything else is 404, like every object outside one's subtree."""
    if not principal.can(Permission.agent_supervise):
        return await own_phone(session, principal)
    interface = await wallboard_of(request).agent_on_call(call_id)
    if interface is not None:
        return await _subtree_phone(session, interface)
    else:
        # A cti_org_code naming no org falls back to the root, as in the hub.
        unanswered = await org_path_or_root(session, ctx.settings.cti_org_code) or await org_path_or_root(session, "")
        if principal.scope.contains_path(unanswered or "/"):
            return None
    raise NotFound(_NO_CALL)


async def _subtree_phone(session: Session, interface: str) -> str:
    """``interface``, if it is the phone of a user of the caller's subtree (the session is scoped); else 404."""
    if await session.scalar(select(User.id).where(User.phone_interface == interface)) is None:
        raise NotFound(_NO_CALL)
    return interface


CallControl = Depends(allowed(Permission.call_control))


@router.post("/dial", status_code=status.HTTP_202_ACCEPTED, response_model=CommandOut, summary="点击外呼",
             responses={404: {"description": "ref 指向的客户或工单不存在（或不在本机构及下级）"}})
async def dial(body: DialIn, ctx: Ctx, session: Session, principal: Principal = CallControl) -> CommandOut:
    """Rings the agent's phone; once answered, dials the number — typed (``number``) or, for a number the agent
    sees masked, where it is kept (``ref``: a customer's or a ticket's phone field; the number never reaches
    the agent). The outcome arrives on the websocket as ``call.originate_result`` with this ``command_id``."""
    return await _result(ctx, await click_to_call(ctx, session, principal, body, _node(ctx, body)))


@router.post("/calls/{call_id}/hangup", response_model=CommandOut, summary="挂断")
async def hangup(call_id: str, request: Request, ctx: Ctx, session: Session, body: In | None = None,
                 principal: Principal = CallControl) -> CommandOut:
    on_call_as = await _on_call_as(request, ctx, session, principal, call_id)
    return await _result(ctx, ev.HangupCommand(command_id=new_command_id(), node=_node(ctx, body),
                                               requested_by=principal.user_id, call_id=call_id,
                                               agent_interface=on_call_as))


@router.post("/calls/{call_id}/transfer", response_model=CommandOut, summary="转接（直接转接或咨询转接）")
async def transfer(call_id: str, body: TransferIn, request: Request, ctx: Ctx, session: Session,
                   principal: Principal = CallControl) -> CommandOut:
    """To a colleague's extension, a queue (direct transfer only) or an outside number. A consultation
    (``attended``) ends with ``…/transfer/complete`` or ``…/transfer/cancel`` (or the agent hanging up,
    which completes it)."""
    common = {"command_id": new_command_id(), "node": _node(ctx, body), "requested_by": principal.user_id,
              "call_id": call_id, "context": ctx.settings.transfer_context}
    if body.number is not None:
        target = dial_exten(ctx.settings.dial_prefix, body.number)
    else:
        target = body.extension or _queues(ctx, [body.queue or ""])[0]
    if body.kind == "attended":
        command: ev.CtiCommand = ev.AttendedTransferCommand(
            **common, exten=target, agent_interface=await own_phone(session, principal))
    else:
        on_call_as = await _on_call_as(request, ctx, session, principal, call_id)
        command = ev.BlindTransferCommand(**common, exten=target, agent_interface=on_call_as)
    return await _result(ctx, command)


async def _finish_transfer(call_id: str, complete: bool, ctx: AppContext, session: Session, body: In | None,
                           principal: Principal) -> CommandOut:
    return await _result(ctx, ev.AttendedTransferFinishCommand(
        command_id=new_command_id(), node=_node(ctx, body), requested_by=principal.user_id, call_id=call_id,
        agent_interface=await own_phone(session, principal), complete=complete))


@router.post("/calls/{call_id}/transfer/complete", response_model=CommandOut, summary="咨询转接：完成转接")
async def complete_transfer(call_id: str, ctx: Ctx, session: Session, body: In | None = None,
                            principal: Principal = CallControl) -> CommandOut:
    """The caller goes to the consulted colleague or number; the agent's phone leaves the call."""
    return await _finish_transfer(call_id, True, ctx, session, body, principal)


@router.post("/calls/{call_id}/transfer/cancel", response_model=CommandOut, summary="咨询转接：取消咨询")
async def cancel_transfer(call_id: str, ctx: Ctx, session: Session, body: In | None = None,
                          principal: Principal = CallControl) -> CommandOut:
    """The consulted party is dropped and the agent is back with the caller."""
    return await _finish_transfer(call_id, False, ctx, session, body, principal)


@router.post("/calls/{call_id}/hold", response_model=CommandOut, summary="保持/取消保持")
async def hold(call_id: str, body: HoldIn, request: Request, ctx: Ctx, session: Session,
               principal: Principal = CallControl) -> CommandOut:
    """The agent's phone is asked to hold (``on``) or resume the call; the new state arrives on the websocket
    as ``call.held`` / ``call.resumed`` once the PBX reports it."""
    on_call_as = await _on_call_as(request, ctx, session, principal, call_id)
    return await _result(ctx, ev.HoldCommand(command_id=new_command_id(), node=_node(ctx, body),
                                             requested_by=principal.user_id, call_id=call_id, on=body.on,
                                             agent_interface=on_call_as))


@router.post("/calls/{call_id}/recording", response_model=CommandOut, summary="开始/停止录音")
async def recording(call_id: str, body: RecordingIn, request: Request, ctx: Ctx, session: Session,
                    principal: Principal = CallControl) -> CommandOut:
    on_call_as = await _on_call_as(request, ctx, session, principal, call_id)
    return await _result(ctx, ev.RecordingCommand(command_id=new_command_id(), node=_node(ctx, body),
                                                  requested_by=principal.user_id, call_id=call_id, start=body.start,
                                                  agent_interface=on_call_as))


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
                      wrapup_seconds=ctx.settings.wrapup_seconds,
                      call=MyCallOut.model_validate(mine.current_call, from_attributes=True)
                      if mine and mine.current_call else None)


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
    on_call = await wallboard_of(request).agent_on_call(call_id)
    if on_call is None:
        raise NotFound(_NO_CALL)
    interface = await _subtree_phone(session, on_call)
    return await _result(ctx, ev.SpyCommand(
        command_id=new_command_id(), node=_node(ctx, body), requested_by=principal.user_id, call_id=call_id,
        agent_interface=interface, supervisor_interface=await own_phone(session, principal), mode=body.mode,
        caller_id=f'"{"密语" if body.mode == "whisper" else "监听"}" <{interface.rsplit("/", 1)[-1]}>'))
