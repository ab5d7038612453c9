"""HTTP routes of the audit log (auditors read their subtree's records)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.auth.deps import Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str
    org_id: int
    action: str
    subject_type: str | None
    subject_id: str | None
    detail: dict[str, Any]
    client_ip: str | None
    request_id: str | None


@router.get("", response_model=list[AuditOut], summary="审计日志")
async def audit_log(
    session: Session,
    principal: Principal = Depends(allowed(Permission.audit_read)),
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditOut]:
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    for column, value in ((AuditRecord.action, action), (AuditRecord.subject_type, subject_type),
                          (AuditRecord.subject_id, subject_id), (AuditRecord.user_id, user_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditRecord.at >= since)
    return [AuditOut.model_validate(r, from_attributes=True) for r in await session.scalars(stmt)]
