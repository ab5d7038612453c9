"""Turning the CTI's bus events into rows: a call record per ``call.ended``, a stretch of agent state per
``agent.state``. Works inside the caller's transaction; the caller decides when it commits.

Both writes are idempotent: a call is known by (node, call_id), so a replayed or reconciled
``call.ended`` inserts nothing the second time; an agent-state event no newer than the interface's
latest stretch is a replay and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.calls import ivr_recorder
from backend.calls.models import AgentStateRecord, CallRecord
from backend.core.db import insert_ignoring_duplicates
from backend.core.events import AgentStateChanged, CallEnded, Envelope
from backend.core.settings import Settings
from backend.orgs.models import Org

log = logging.getLogger("lianluo.calls")


def _utc(value: datetime | None) -> datetime | None:
    # The CTI sends UTC; a time without an offset is read as UTC rather than rejected.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _clip(value: str | None, length: int) -> str | None:
    # A PBX value longer than the column is kept in part rather than failing the whole batch.
    return value[:length] if value is not None else None


class Owners:
    """Who a phone interface belongs to (user id, org id), and the org of calls no agent took."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self._session = session
        self._org_code = settings.cti_org_code
        self._by_interface: dict[str, tuple[int | None, int]] = {}
        self._fallback: int | None = None

    async def fallback_org(self) -> int:
        if self._fallback is None:
            org_id = None
            if self._org_code:
                org_id = await self._session.scalar(select(Org.id).where(Org.code == self._org_code))
                if org_id is None:
                    log.warning("cti_org_code %r names no org; unanswered calls go to the root", self._org_code)
            if org_id is None:
                org_id = await self._session.scalar(
                    select(Org.id).where(Org.parent_id.is_(None)).order_by(Org.path).limit(1))
            if org_id is None:
                raise LookupError("no org exists yet to own call records")
            self._fallback = org_id
        return self._fallback

    async def of(self, interface: str | None) -> tuple[int | None, int]:
        if not interface:
            return None, await self.fallback_org()
        if interface not in self._by_interface:
            row = (await self._session.execute(
                select(User.id, User.org_id).where(User.phone_interface == interface))).first()
            self._by_interface[interface] = (row[0], row[1]) if row else (None, await self.fallback_org())
        return self._by_interface[interface]


class Recorder:
    """Writes the rows for a sequence of envelopes, in bus order, within one session."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self._session = session
        self._default_node = settings.node_id
        self.owners = Owners(session, settings)
        self._latest: dict[tuple[str, str], AgentStateRecord | None] = {}

    async def write(self, envelope: Envelope) -> bool:
        """Record one event; False when it produces no row (other call events, replays)."""
        event = envelope.event
        if isinstance(event, CallEnded):
            return await self.call_ended(envelope, event)
        if isinstance(event, AgentStateChanged):
            return await self.agent_state(envelope, event)
        if type(event) in ivr_recorder.MODELS:
            model, row = ivr_recorder.MODELS[type(event)]  # type: ignore[index]
            values = await row(self._session, envelope, event, self.node_of(envelope), await self.owners.fallback_org())
            result = await self._session.execute(insert_ignoring_duplicates(self._session, model, "node", "bus_event_id"),
                                                 values)
            return bool(result.rowcount)
        return False

    def node_of(self, envelope: Envelope) -> str:
        return _clip(envelope.node or self._default_node, 32) or self._default_node

    async def call_row(self, envelope: Envelope, event: CallEnded) -> dict[str, Any]:
        ended_at = _utc(event.ended_at) or envelope.occurred_at
        started_at = _utc(event.started_at) or ended_at - timedelta(seconds=event.duration_seconds)
        agent_user_id, org_id = await self.owners.of(event.agent_interface if event.answered else None)
        return {
            "org_id": org_id,
            "node": self.node_of(envelope),
            "call_id": _clip(event.call_id, 64),
            "direction": _clip(event.direction, 16),
            "caller": _clip(event.caller, 32),
            "dialled": _clip(event.dialled, 32),
            "started_at": started_at,
            "answered_at": _utc(event.answered_at),
            "ended_at": ended_at,
            "duration_seconds": event.duration_seconds,
            "wait_seconds": event.wait_seconds,
            "ring_seconds": event.ring_seconds,
            "talk_seconds": event.talk_seconds,
            "hold_seconds": event.hold_seconds,
            "queue": _clip(event.queue, 64),
            "ivr": dict(event.ivr),
            "agent_interface": _clip(event.agent_interface, 64),
            "agent_user_id": agent_user_id,
            "agent_name": _clip(event.agent_name, 64),
            "transfers": [t.model_dump(mode="json") for t in event.transfers],
            "transfer_count": len(event.transfers),
            "hangup_cause": event.hangup_cause,
            "hangup_cause_text": _clip(event.hangup_cause_text, 64),
            "answered": event.answered,
            "abandoned": event.abandoned,
            "lost_during_outage": event.lost_during_outage,
            "recording_file": _clip(event.recording_file, 255),
            "command_id": _clip(event.command_id, 64),
            "bus_event_id": envelope.id,
        }

    async def call_ended(self, envelope: Envelope, event: CallEnded) -> bool:
        result = await self._session.execute(
            insert_ignoring_duplicates(self._session, CallRecord, "node", "call_id"),
            await self.call_row(envelope, event),
        )
        return bool(result.rowcount)

    async def missing_calls(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """The ``call.ended`` envelopes among ``envelopes`` whose call has no record."""
        wanted: dict[tuple[str, str], Envelope] = {}
        for env in envelopes:
            if isinstance(env.event, CallEnded):
                wanted.setdefault((self.node_of(env), env.event.call_id), env)
        by_node: dict[str, list[str]] = {}
        for node, call_id in wanted:
            by_node.setdefault(node, []).append(call_id)
        for node, call_ids in by_node.items():
            for start in range(0, len(call_ids), 500):
                known = await self._session.scalars(select(CallRecord.call_id).where(
                    CallRecord.node == node, CallRecord.call_id.in_(call_ids[start:start + 500])))
                for call_id in known:
                    wanted.pop((node, call_id), None)
        return list(wanted.values())

    async def _latest_stretch(self, node: str, interface: str) -> AgentStateRecord | None:
        key = (node, interface)
        if key not in self._latest:
            self._latest[key] = await self._session.scalar(
                select(AgentStateRecord)
                .where(AgentStateRecord.interface == interface, AgentStateRecord.node == node)
                .order_by(AgentStateRecord.started_at.desc(), AgentStateRecord.id.desc()).limit(1))
        return self._latest[key]

    async def agent_state(self, envelope: Envelope, event: AgentStateChanged) -> bool:
        node, at = self.node_of(envelope), envelope.occurred_at
        interface = _clip(event.interface, 64) or ""
        latest = await self._latest_stretch(node, interface)
        if latest is not None and _is_replay(latest, event, at):
            return False
        if latest is not None and latest.ended_at is None:
            latest.ended_at = at
            latest.duration_seconds = (at - latest.started_at).total_seconds()
        user_id, org_id = await self.owners.of(interface)
        row = AgentStateRecord(
            org_id=org_id, node=node, interface=interface, user_id=user_id, agent_name=_clip(event.agent_name, 64),
            state=_clip(event.state, 16), reason=_clip(event.reason, 32), queues=list(event.queues),
            call_id=_clip(event.call_id, 64), started_at=at, bus_event_id=envelope.id,
        )
        self._session.add(row)
        self._latest[(node, interface)] = row
        return True


def _is_replay(latest: AgentStateRecord, event: AgentStateChanged, at: datetime) -> bool:
    if at < latest.started_at:
        return True
    # Two different changes can share a millisecond; the same change twice cannot.
    return at == latest.started_at and (latest.state, latest.reason, latest.call_id) == (
        event.state, event.reason, event.call_id)
