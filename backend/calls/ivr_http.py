"""HTTP routes of what callers did in the IVR and the callback requests it took, in the reader's subtree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.audit.pii import Phone, present
from backend.auth.deps import Session
from backend.callbacks.models import CallbackRequest, CallbackStatus
from backend.calls.http import CallReader
from backend.calls.ivr_models import IvrSessionRecord
from backend.calls.schemas import IvrSessionOut
from backend.core.db import filtered

router = APIRouter(prefix="/api", tags=["ivr"])

class IvrSessionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str | None = Field(None, max_length=64)
    outcome: str | None = Field(None, max_length=32)
    service: str | None = Field(None, max_length=32)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=100_000)


class CallbackQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CallbackStatus | None = None
    due_before: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=100_000)


class CallbackOut(BaseModel):
    __pii_subject__ = "callback_request"
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    phone: Phone | None = None
    service: str
    customer_id: int | None
    call_id: str
    requested_at: datetime
    due_at: datetime
    status: str


@router.get("/ivr-sessions", response_model=list[IvrSessionOut], summary="IVR 路径记录（每通来电在语音导航中的每一步）")
async def ivr_sessions(session: Session, principal: CallReader,
                       query: Annotated[IvrSessionQuery, Query()]) -> list[IvrSessionOut]:
    stmt = filtered(select(IvrSessionRecord), IvrSessionRecord.started_at,
                    ((IvrSessionRecord.call_id, query.call_id), (IvrSessionRecord.outcome, query.outcome),
                     (IvrSessionRecord.service, query.service)), query.since, query.until)
    stmt = stmt.order_by(IvrSessionRecord.started_at.desc(), IvrSessionRecord.id.desc())
    rows = await session.scalars(stmt.limit(query.limit).offset(query.offset))
    return await present([IvrSessionOut.model_validate(r) for r in rows], principal, session)


@router.get("/callback-requests", response_model=list[CallbackOut], summary="客户预约回拨（到期先后）")
async def callback_requests(session: Session, principal: CallReader,
                            query: Annotated[CallbackQuery, Query()]) -> list[CallbackOut]:
    stmt = select(CallbackRequest)
    if query.status is not None:
        stmt = stmt.where(CallbackRequest.status == query.status)
    if query.due_before is not None:
        stmt = stmt.where(CallbackRequest.due_at < query.due_before)
    rows = await session.scalars(stmt.order_by(CallbackRequest.due_at, CallbackRequest.id)
                                 .limit(query.limit).offset(query.offset))
    return await present([CallbackOut.model_validate(r) for r in rows], principal, session)
