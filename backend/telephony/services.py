"""Sending commands to a PBX node and waiting for its answer.

The ``cti`` of the node answers each command with one ``command.result``; the wait is bounded by
``cti_command_timeout_seconds``, after which the user is told the phone system is unavailable (the
node may be down, or Asterisk unreachable). Which phone is the user's is ``User.phone_interface``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing
from typing import Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.principal import Principal
from backend.core.bus import FROM_START
from backend.core.context import AppContext
from backend.core.events import CommandResult, CtiCommand
from backend.core.problems import Conflict, DomainError, NotFound, Unavailable

log = logging.getLogger("lianluo.telephony")

# Why an agent is not ready; 话后处理 (after-call work) is also what the bridge sets after each call.
PauseReason = Literal["示忙", "小休", "培训", "话后处理"]
PAUSE_REASONS: tuple[str, ...] = get_args(PauseReason)


class PbxUnavailable(Unavailable):
    title, code = "电话系统暂不可用", "pbx-unavailable"


class PbxRefused(DomainError):
    status, title, code = 409, "电话系统拒绝了该操作", "pbx-refused"


class NoPhone(Conflict):
    title, code = "未绑定坐席分机", "no-phone"


def new_command_id() -> str:
    return uuid.uuid4().hex


async def send(ctx: AppContext, command: CtiCommand) -> CommandResult:
    """Publish ``command`` and wait for the node's result; PbxRefused when it says no."""
    bus = ctx.bus
    result: CommandResult | None = None
    try:
        after = await bus.last_id(CtiCommand.stream) or FROM_START
        await bus.publish(command)
        async with asyncio.timeout(ctx.settings.cti_command_timeout_seconds):
            async with aclosing(bus.subscribe(CtiCommand.stream, after=after)) as stream:
                async for envelope in stream:
                    result = envelope.event
                    if isinstance(result, CommandResult) and result.command_id == command.command_id:
                        break
    except TimeoutError:
        log.warning("no answer from PBX node %s to %s %s", command.node, command.type, command.command_id)
        raise PbxUnavailable(f"电话系统（节点 {command.node}）未在规定时间内应答，请稍后重试") from None
    except (ConnectionError, OSError) as exc:  # the bus itself is down
        log.warning("command %s not sent: bus unavailable (%s)", command.command_id, exc)
        raise PbxUnavailable("电话系统消息通道不可用，请稍后重试") from None
    if result is None:
        raise PbxUnavailable("电话系统消息通道已关闭")
    if not result.ok:
        raise PbxRefused(f"电话系统拒绝了该操作：{result.error}")
    return result


async def phone_of(session: AsyncSession, user_id: int) -> str:
    """The phone interface of a user of the caller's subtree (404 outside it)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    if not user.phone_interface:
        raise NoPhone(f"用户 {user.display_name} 未绑定坐席分机，请联系管理员")
    return user.phone_interface


async def own_phone(session: AsyncSession, principal: Principal) -> str:
    return await phone_of(session, principal.user_id)
