"""Rows for what the IVR reports: an IVR session per ``ivr.session_ended``, a callback request per
``ivr.callback_requested``. Idempotent by (node, bus event id), like the other consumers' writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.callbacks.models import CallbackRequest
from backend.calls.ivr_models import IvrSessionRecord
from backend.core.events import CallbackRequested, Envelope, IvrSessionEnded
from backend.directory.models import Customer


async def _org_of_customer(session: AsyncSession, customer_id: int | None) -> int | None:
    if customer_id is None:
        return None
    return await session.scalar(select(Customer.org_id).where(Customer.id == customer_id))


async def ivr_session_row(session: AsyncSession, envelope: Envelope, event: IvrSessionEnded, node: str,
                          fallback_org: int) -> dict[str, object]:
    return {
        "org_id": await _org_of_customer(session, event.customer_id) or fallback_org,
        "node": node, "call_id": event.call_id[:64], "flow": event.flow[:64], "outcome": event.outcome[:32],
        "service": (event.service or None) and event.service[:32], "queue": event.queue and event.queue[:64],
        "priority": event.priority, "caller": event.caller and event.caller[:32], "customer_id": event.customer_id,
        "variables": dict(event.variables), "path": [dict(step) for step in event.path], "steps": len(event.path),
        "started_at": event.started_at, "ended_at": event.ended_at,
        "duration_seconds": (event.ended_at - event.started_at).total_seconds(), "bus_event_id": envelope.id,
    }


async def callback_row(session: AsyncSession, envelope: Envelope, event: CallbackRequested, node: str,
                       fallback_org: int) -> dict[str, object]:
    return {
        "org_id": await _org_of_customer(session, event.customer_id) or fallback_org,
        "phone": event.phone and event.phone[:32], "service": event.service[:32], "customer_id": event.customer_id,
        "node": node, "call_id": event.call_id[:64], "flow": event.flow[:64], "requested_at": event.requested_at,
        "due_at": event.due_at, "status": "pending", "bus_event_id": envelope.id,
    }


MODELS = {IvrSessionEnded: (IvrSessionRecord, ivr_session_row), CallbackRequested: (CallbackRequest, callback_row)}
