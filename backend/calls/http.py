"""HTTP routes of call records, recordings and agent-state history: permission, parse, service, present."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from sqlalchemy import or_, select

from backend.audit.pii import present
from backend.audit.services import record as audit
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.calls.ivr_models import IvrSessionRecord
from backend.calls.schemas import (
    AgentStateOut,
    AgentStateQuery,
    CallDetailOut,
    CallOut,
    CallQuery,
    IvrSessionOut,
    LinkedTicketOut,
)
from backend.calls.services import get_call, list_agent_states, list_calls, recording_path
from backend.tickets.models import Ticket

router = APIRouter(prefix="/api", tags=["calls"])

CallReader = Annotated[Principal, Depends(allowed(Permission.call_read))]


@router.get("/calls", response_model=list[CallOut], summary="通话记录（本机构及下级，最新在前）")
async def calls(session: Session, principal: CallReader, query: Annotated[CallQuery, Query()]) -> list[CallOut]:
    return await present([CallOut.of(r) for r in await list_calls(session, query)], principal, session)


@router.get("/calls/{call_record_id}", response_model=CallDetailOut, summary="通话记录详情（含 IVR 路径）")
async def call(call_record_id: int, session: Session, principal: CallReader) -> CallDetailOut:
    record = await get_call(session, call_record_id)
    paths = await session.scalars(select(IvrSessionRecord).where(
        IvrSessionRecord.node == record.node, IvrSessionRecord.call_id == record.call_id)
        .order_by(IvrSessionRecord.started_at))
    tickets = await session.execute(select(Ticket.id, Ticket.number, Ticket.type, Ticket.status).where(
        Ticket.call_id == record.call_id, or_(Ticket.node == record.node, Ticket.node.is_(None))).order_by(Ticket.id))
    detail = CallDetailOut(**CallOut.of(record).model_dump(),
                           ivr_sessions=[IvrSessionOut.model_validate(p) for p in paths],
                           tickets=[LinkedTicketOut(id=i, number=n, type=t, status=st) for i, n, t, st in tickets])
    return await present(detail, principal, session)


@router.get("/calls/{call_record_id}/recording", response_class=FileResponse, summary="播放通话录音（WAV）",
            responses={200: {"content": {"audio/wav": {}}}})
async def recording(call_record_id: int, ctx: Ctx, session: Session,
                    principal: Principal = Depends(allowed(Permission.recording_listen))) -> FileResponse:
    record = await get_call(session, call_record_id)
    path = await recording_path(ctx.settings.effective_recordings_dir, record)
    # Every play is audited; the row commits before the first byte is sent (see backend.auth.deps.Session).
    await audit(session, principal, action="recording.play", subject_type="call", subject_id=str(record.id),
                detail={"file": record.recording_file, "call_id": record.call_id, "node": record.node})
    return FileResponse(path, media_type="audio/wav", filename=path.name, content_disposition_type="inline")


@router.get("/agent-states", response_model=list[AgentStateOut], summary="坐席状态历史")
async def agent_states(session: Session, principal: CallReader,
                       query: Annotated[AgentStateQuery, Query()]) -> list[AgentStateOut]:
    return [AgentStateOut.of(r) for r in await list_agent_states(session, query)]
