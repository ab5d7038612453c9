"""GET /api/wallboard: the supervisor wallboard of the caller's org subtree (thin: permission, service, schema)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from backend.auth.deps import Ctx, CurrentPrincipal, Session
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.wallboard.schemas import WallboardOut
from backend.wallboard.services import scoped_view, wallboard_of

router = APIRouter(prefix="/api", tags=["wallboard"])


async def _supervisor(principal: CurrentPrincipal) -> Principal:
    """Team leads (agent.supervise) and whoever reads call records (call.read)."""
    if not principal.can(Permission.call_read):
        principal.require(Permission.agent_supervise)
    return principal


Supervisor = Annotated[Principal, Depends(_supervisor)]


@router.get("/wallboard", response_model=WallboardOut, summary="班长监控墙：队列与坐席实时数据（今日）")
async def wallboard(request: Request, ctx: Ctx, session: Session, principal: Supervisor) -> WallboardOut:
    """Calls waiting, longest wait, agents by state, and today's answered, abandoned, 20-second service level,
    ASA and AHT per queue; each agent's state, time in it, calls handled and current call. The console's
    websocket carries the raw call and agent events: a page re-fetches this (or recomputes) on each."""
    board = wallboard_of(request)
    snapshot = await board.snapshot()
    return WallboardOut.of(await scoped_view(session, principal, snapshot, board.stats, ctx.settings.cti_queues))
