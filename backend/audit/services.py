"""Writing audit records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditRecord
from backend.auth.principal import Principal


async def record(
    session: AsyncSession,
    actor: Principal | None,
    *,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    org_id: int | None = None,
    username: str | None = None,
    client_ip: str | None = None,
) -> AuditRecord:
    row = AuditRecord(
        at=at or datetime.now(UTC),
        user_id=actor.user_id if actor else None,
        username=actor.username if actor else (username or "-"),
        org_id=actor.org_id if actor else org_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
        client_ip=actor.client_ip if actor else client_ip,
        request_id=actor.request_id if actor else None,
    )
    session.add(row)
    return row
