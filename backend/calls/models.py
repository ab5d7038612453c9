"""Call-detail records, agent-state history, and the bus cursors of the consumers that write them.

A call record belongs to the org of the agent who answered it; calls no agent took (abandoned, IVR
only, failed outbound) belong to the org named by ``cti_org_code`` (the root when empty).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, UTCDateTime
from backend.orgs.scope import OrgScoped

# Redis ids are "<13-digit ms>-<64-bit sequence>": at most 34 characters.
BusId = String(40)


class CallRecord(OrgScoped, Base):
    """One call, as the CTI summed it up when its last channel hung up (``call.ended``)."""

    __tablename__ = "call_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    node: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(64))  # the PBX's Linkedid, unique per node
    direction: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str | None] = mapped_column(String(32))
    dialled: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float] = mapped_column(Float)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    queue: Mapped[str | None] = mapped_column(String(64))
    ivr: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # variables the IVR set: its path
    agent_interface: Mapped[str | None] = mapped_column(String(64))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agent_name: Mapped[str | None] = mapped_column(String(64))
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    transfer_count: Mapped[int] = mapped_column(default=0)
    hangup_cause: Mapped[int | None]
    hangup_cause_text: Mapped[str | None] = mapped_column(String(64))
    answered: Mapped[bool]
    abandoned: Mapped[bool] = mapped_column(default=False)
    lost_during_outage: Mapped[bool] = mapped_column(default=False)
    recording_file: Mapped[str | None] = mapped_column(String(255))  # a file name in ``recordings_dir``
    command_id: Mapped[str | None] = mapped_column(String(64))
    bus_event_id: Mapped[str] = mapped_column(BusId)

    __table_args__ = (
        UniqueConstraint("node", "call_id"),
        Index("ix_call_records_org_started", "org_id", "started_at"),
        Index("ix_call_records_agent_started", "agent_user_id", "started_at"),
    )


class AgentStateRecord(OrgScoped, Base):
    """One stretch of an agent's phone in one state; ``ended_at`` is empty while it is the current one."""

    __tablename__ = "agent_states"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    node: Mapped[str] = mapped_column(String(32))
    interface: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agent_name: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    call_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    bus_event_id: Mapped[str] = mapped_column(BusId)

    __table_args__ = (
        UniqueConstraint("node", "bus_event_id"),
        Index("ix_agent_states_interface_started", "interface", "started_at"),
        Index("ix_agent_states_user_started", "user_id", "started_at"),
        Index("ix_agent_states_org_started", "org_id", "started_at"),
    )


class BusCursor(Base):
    """How far one consumer has read one bus stream. Not org data: only system jobs touch it."""

    __tablename__ = "bus_cursors"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[str] = mapped_column(BusId)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
