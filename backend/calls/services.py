"""Reading call records and agent-state history within the reader's org subtree, and finding a recording.

The session's scope does the subtree filtering (backend.orgs.scope): a record outside it is "not found".
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calls.models import AgentStateRecord, CallRecord
from backend.calls.schemas import AgentStateQuery, CallQuery
from backend.core.db import filtered
from backend.core.problems import NotFound


class RecordingNotFound(NotFound):
    title, code = "录音不存在", "recording-not-found"


async def list_calls(session: AsyncSession, q: CallQuery) -> list[CallRecord]:
    stmt = filtered(select(CallRecord), CallRecord.started_at,
                     ((CallRecord.direction, q.direction), (CallRecord.queue, q.queue),
                      (CallRecord.agent_user_id, q.agent_user_id), (CallRecord.answered, q.answered),
                      (CallRecord.abandoned, q.abandoned), (CallRecord.caller, q.caller), (CallRecord.node, q.node)),
                     q.since, q.until)
    stmt = stmt.order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(q.limit).offset(q.offset)
    return list(await session.scalars(stmt))


async def get_call(session: AsyncSession, call_record_id: int) -> CallRecord:
    record = await session.get(CallRecord, call_record_id)
    if record is None:
        raise NotFound("通话记录不存在")
    return record


async def list_agent_states(session: AsyncSession, q: AgentStateQuery) -> list[AgentStateRecord]:
    stmt = filtered(select(AgentStateRecord), AgentStateRecord.started_at,
                     ((AgentStateRecord.user_id, q.user_id), (AgentStateRecord.interface, q.interface),
                      (AgentStateRecord.node, q.node)), q.since, q.until)
    stmt = stmt.order_by(AgentStateRecord.started_at.desc(), AgentStateRecord.id.desc())
    return list(await session.scalars(stmt.limit(q.limit).offset(q.offset)))


def _inside(folder: Path, name: str | None) -> Path | None:
    # The record holds a bare file name as MixMonitor wrote it; anything that could walk out of the
    # recordings folder is treated as no recording at all.
    if not name or "/" in name or "\\" in name or ".." in name or "\x00" in name:
        return None
    root = folder.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


async def recording_path(folder: Path, record: CallRecord) -> Path:
    """The recording file of ``record`` inside ``folder``; RecordingNotFound when there is none."""
    path = await asyncio.to_thread(_inside, folder, record.recording_file)
    if path is None:
        raise RecordingNotFound("该通话没有录音或录音文件不存在")
    return path
