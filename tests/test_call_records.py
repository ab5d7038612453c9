"""Call-detail records and agent-state history written from the CTI's bus events, and read over HTTP.

Every test works on its own PBX node id, so the shared stack's other calls never count.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import delete, func, select, update

from backend.audit.models import AuditRecord
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.calls.consumer import consume_once, cursor_of, run_call_records
from backend.calls.models import AgentStateRecord, CallRecord
from backend.calls.reconcile import reconcile_call_records
from backend.calls.recorder import Recorder
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.events import AgentStateChanged, CallEnded, Event, Transfer
from backend.orgs.scope import Scope
from tests.conftest import NOW, Stack
from tests.cti_replay import replay

CALLER = "13912345678"


def new_node() -> str:
    return f"pbx-{uuid.uuid4().hex[:8]}"


def call_ended(call_id: str, *, answered: bool = True, agent: str | None = None, caller: str = CALLER,
               recording: str | None = None, queue: str | None = "complaints", at_minute: int = 0) -> CallEnded:
    started = NOW + timedelta(minutes=at_minute)
    return CallEnded(
        call_id=call_id, direction="inbound", caller=caller, dialled="95500", hangup_cause=16,
        hangup_cause_text="Normal Clearing", answered=answered, abandoned=not answered, queue=queue,
        agent_interface=agent if answered else None, agent_name="坐席" if answered else None,
        duration_seconds=95.5, talk_seconds=80.0 if answered else None, started_at=started,
        answered_at=started + timedelta(seconds=15) if answered else None, ended_at=started + timedelta(seconds=95.5),
        ivr={"IVR_CHOICE": "2"}, wait_seconds=12.0, ring_seconds=3.0 if answered else None, hold_seconds=4.5,
        transfers=(Transfer(kind="blind", target="claims", at=started + timedelta(seconds=60)),) if answered else (),
        recording_file=recording,
    )


async def publish(stack: Stack, node: str, *events: Event, at=None):  # type: ignore[no-untyped-def]
    return [await stack.ctx.bus.publish(e, node=node, at=at) for e in events]


async def drained(stack: Stack) -> None:
    """Let the consumer catch up with what other tests left on the streams."""
    await consume_once(stack.ctx)


async def records(stack: Stack, node: str) -> list[CallRecord]:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return list(await s.scalars(select(CallRecord).where(CallRecord.node == node).order_by(CallRecord.id)))


async def states(stack: Stack, node: str) -> list[AgentStateRecord]:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return list(await s.scalars(select(AgentStateRecord).where(AgentStateRecord.node == node)
                                    .order_by(AgentStateRecord.started_at, AgentStateRecord.id)))


async def agent_with_phone(stack: Stack, org: str, interface: str, role: Role = Role.agent) -> int:
    username = await stack.add_user(f"cdr_{uuid.uuid4().hex[:10]}", role, stack.orgs[org])
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(User).where(User.username == username).values(phone_interface=interface))
        return await s.scalar(select(User.id).where(User.username == username))


def second_worker(stack: Stack) -> AppContext:
    """Another worker process: its own database engine, the same bus and settings."""
    return AppContext(settings=stack.ctx.settings, db=Database(stack.ctx.db.url), bus=stack.ctx.bus,
                      clock=stack.ctx.clock)


# --- the consumer


async def test_given_recorded_traces_when_consumed_then_one_record_per_call_with_the_traced_fields(
        stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    scenarios = ("inbound_ivr_queue_answered", "inbound_queue_abandon", "outbound_answered", "outbound_busy")
    for scenario in scenarios:
        await publish(stack, node, *replay(scenario))
    await consume_once(stack.ctx)

    rows = {r.call_id: r for r in await records(stack, node)}
    assert len(rows) == len(scenarios)
    answered = rows["1795455247.0"]
    assert (answered.direction, answered.caller, answered.queue, answered.answered, answered.abandoned) == (
        "inbound", "13912345678", "complaints", True, False)
    assert answered.ivr == {"IVR_CHOICE": "1", "IVR_POLICY": "8800123456"}
    assert answered.agent_interface == "Local/agent1001@agents" and answered.agent_user_id is None
    assert answered.talk_seconds == pytest.approx(3.5043) and answered.wait_seconds == pytest.approx(2.0045)
    assert answered.started_at.isoformat() == "2026-11-23T09:00:00.007900+00:00"
    assert (answered.hangup_cause, answered.hangup_cause_text) == (16, "Normal Clearing")
    abandoned = rows["1795455265.6"]
    assert abandoned.abandoned and not abandoned.answered and abandoned.org_id == stack.orgs["hq"].id
    outbound = rows["1795455285.8"]
    assert outbound.direction == "outbound" and outbound.command_id == "cmd-outbound_answered-orig"
    assert rows["1795455294.12"].hangup_cause_text == "User busy"


async def test_given_consumed_events_when_consumed_again_or_published_twice_then_no_duplicates(
        stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    events = [*replay("inbound_ivr_queue_answered"), call_ended("c-1"), call_ended("c-2", answered=False)]
    await publish(stack, node, *events)
    await consume_once(stack.ctx)
    assert await consume_once(stack.ctx) == 0
    await publish(stack, node, *events)  # the CTI replaying after a reconnect
    await consume_once(stack.ctx)
    assert sorted(r.call_id for r in await records(stack, node)) == ["1795455247.0", "c-1", "c-2"]


async def test_given_a_stopped_consumer_when_a_new_one_starts_then_it_continues_after_the_cursor(
        stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    sent = await publish(stack, node, call_ended("a"), call_ended("b"))
    assert await consume_once(stack.ctx) == 2
    assert await cursor_of(stack.ctx, "calls") == sent[-1].id
    await publish(stack, node, call_ended("c"))
    other = second_worker(stack)
    try:
        assert await consume_once(other) == 1
    finally:
        await other.db.dispose()
    assert [r.call_id for r in await records(stack, node)] == ["a", "b", "c"]


async def test_given_a_crash_in_the_middle_of_a_batch_when_run_again_then_nothing_partial_and_all_written(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    node = new_node()
    await drained(stack)
    before = await cursor_of(stack.ctx, "calls")
    await publish(stack, node, *(call_ended(f"x{i}") for i in range(4)))
    original, written = Recorder.write, 0

    async def dies_on_the_third(self: Recorder, envelope):  # type: ignore[no-untyped-def]
        nonlocal written
        written += 1
        if written == 3:
            raise ConnectionError("database connection lost")
        return await original(self, envelope)

    monkeypatch.setattr(Recorder, "write", dies_on_the_third)
    with pytest.raises(ConnectionError):
        await consume_once(stack.ctx)
    assert await records(stack, node) == []
    assert await cursor_of(stack.ctx, "calls") == before

    monkeypatch.undo()
    assert await consume_once(stack.ctx) == 4
    assert [r.call_id for r in await records(stack, node)] == ["x0", "x1", "x2", "x3"]


async def test_given_two_consumers_at_once_when_they_share_the_streams_then_each_event_is_written_once(
        stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    interface = f"PJSIP/{node}"
    calls = [call_ended(f"k{i}", agent=interface) for i in range(30)]
    flips = [AgentStateChanged(interface=interface, state="ready" if i % 2 else "on_call") for i in range(30)]
    for i, flip in enumerate(flips):
        await publish(stack, node, calls[i])
        await publish(stack, node, flip, at=NOW + timedelta(seconds=i))
    other = second_worker(stack)
    try:
        counts = await asyncio.gather(consume_once(stack.ctx, limit=4), consume_once(other, limit=4))
    finally:
        await other.db.dispose()
    assert sum(counts) == 60
    assert len(await records(stack, node)) == 30
    history = await states(stack, node)
    assert len(history) == 30
    assert all(a.ended_at == b.started_at for a, b in zip(history, history[1:], strict=False))
    assert history[-1].ended_at is None


async def test_given_the_worker_loop_when_a_call_ends_then_its_record_appears_and_stop_ends_the_loop(
        stack: Stack) -> None:
    node = new_node()
    stop = asyncio.Event()
    loop = asyncio.create_task(run_call_records(stack.ctx, stop))
    try:
        await publish(stack, node, call_ended("live"))
        async with asyncio.timeout(5):
            while not await records(stack, node):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
    assert [r.call_id for r in await records(stack, node)] == ["live"]


class _FutureEvent(Event):
    """A type a newer CTI release might send; this release does not know it (not registered)."""

    type: ClassVar[str] = "call.something_new"
    stream: ClassVar[str] = "calls"
    call_id: str


async def test_given_unknown_and_unrecordable_events_when_consumed_then_they_are_skipped_and_the_rest_written(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    node = new_node()
    await drained(stack)
    original = Recorder.call_row

    async def rejects_bad(self: Recorder, envelope, event):  # type: ignore[no-untyped-def]
        if event.call_id == "bad":
            raise ValueError("cannot record this one")
        return await original(self, envelope, event)

    monkeypatch.setattr(Recorder, "call_row", rejects_bad)
    await publish(stack, node, call_ended("before"), _FutureEvent(call_id="?"), call_ended("bad"), call_ended("after"))
    await consume_once(stack.ctx)
    assert [r.call_id for r in await records(stack, node)] == ["before", "after"]
    assert await consume_once(stack.ctx) == 0


async def test_given_a_deleted_record_when_reconciliation_runs_then_it_is_rebuilt(stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    await publish(stack, node, call_ended("kept"), call_ended("lost"))
    await consume_once(stack.ctx)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(delete(CallRecord).where(CallRecord.node == node, CallRecord.call_id == "lost"))
    assert [r.call_id for r in await records(stack, node)] == ["kept"]

    assert await reconcile_call_records(stack.ctx) >= 1
    assert sorted(r.call_id for r in await records(stack, node)) == ["kept", "lost"]
    assert await reconcile_call_records(stack.ctx) == 0


# --- agent-state history


async def test_given_state_changes_when_consumed_then_each_stretch_has_its_duration_and_replays_add_nothing(
        stack: Stack) -> None:
    node = new_node()
    interface = f"PJSIP/{node}"
    user_id = await agent_with_phone(stack, "outlet", interface)
    await drained(stack)
    changes = [(0, AgentStateChanged(interface=interface, state="ready", queues=("complaints",))),
               (10, AgentStateChanged(interface=interface, state="on_call", call_id="c-9", queues=("complaints",))),
               (70, AgentStateChanged(interface=interface, state="not_ready", reason="小休"))]
    for _ in range(2):  # the second round is a replay of the same changes
        for seconds, change in changes:
            await publish(stack, node, change, at=NOW + timedelta(seconds=seconds))
        await consume_once(stack.ctx)

    lead = stack.users[(Role.team_lead, "outlet")]
    r = await stack.get(lead, "/api/agent-states", params={"interface": interface})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["state"] for s in body] == ["not_ready", "on_call", "ready"]
    assert [s["duration_seconds"] for s in body] == [None, 60.0, 10.0]
    assert body[0]["ended_at"] is None and body[0]["reason"] == "小休"
    assert body[1]["call_id"] == "c-9" and body[2]["queues"] == ["complaints"]
    assert {s["user_id"] for s in body} == {user_id} and {s["org_id"] for s in body} == {stack.orgs["outlet"].id}
    r = await stack.get(lead, "/api/agent-states", params={"user_id": user_id, "since": (NOW + timedelta(seconds=5)).isoformat()})
    assert [s["state"] for s in r.json()] == ["not_ready", "on_call"]
    sibling = await stack.add_user(f"cdr_sib_{node}", Role.team_lead, stack.orgs["sibling_outlet"])
    assert (await stack.get(sibling, "/api/agent-states", params={"interface": interface})).json() == []


# --- reading over HTTP: org scope, masking, recordings


async def _answered_in_outlet(stack: Stack, **kw) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    node = new_node()
    interface = f"PJSIP/{node}"
    user_id = await agent_with_phone(stack, "outlet", interface)
    await drained(stack)
    await publish(stack, node, call_ended("in-outlet", agent=interface, **kw))
    await consume_once(stack.ctx)
    (row,) = await records(stack, node)
    assert (row.agent_user_id, row.org_id) == (user_id, stack.orgs["outlet"].id)
    return node, row.id


async def test_given_a_call_answered_in_an_outlet_when_read_then_its_lead_and_branch_see_it_and_a_sibling_does_not(
        stack: Stack) -> None:
    node, record_id = await _answered_in_outlet(stack)
    for reader in (stack.users[(Role.team_lead, "outlet")], stack.users[(Role.org_manager, "branch")]):
        r = await stack.get(reader, f"/api/calls/{record_id}")
        assert r.status_code == 200, r.text
        assert r.json()["call_id"] == "in-outlet" and r.json()["transfer_count"] == 1
        listed = await stack.get(reader, "/api/calls", params={"node": node})
        assert [c["id"] for c in listed.json()] == [record_id]
    sibling = await stack.add_user(f"cdr_sib_{node}", Role.team_lead, stack.orgs["sibling_outlet"])
    assert (await stack.get(sibling, f"/api/calls/{record_id}")).status_code == 404
    assert (await stack.get(sibling, "/api/calls", params={"node": node})).json() == []
    assert (await stack.get(sibling, "/api/calls/987654321")).status_code == 404
    assert (await stack.get(stack.users[(Role.agent, "outlet")], "/api/calls")).status_code == 403


async def test_given_an_abandoned_call_when_read_then_only_the_root_sees_it(stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    await publish(stack, node, call_ended("gone", answered=False))
    await consume_once(stack.ctx)
    (row,) = await records(stack, node)
    assert row.org_id == stack.orgs["hq"].id and row.agent_user_id is None
    assert (await stack.get(stack.users[(Role.org_manager, "hq")], f"/api/calls/{row.id}")).status_code == 200
    assert (await stack.get(stack.users[(Role.org_manager, "branch")], f"/api/calls/{row.id}")).status_code == 404


async def test_given_filters_when_listing_calls_then_only_matching_calls_newest_first(stack: Stack) -> None:
    node = new_node()
    await drained(stack)
    await publish(stack, node, call_ended("m0", at_minute=0), call_ended("m1", answered=False, at_minute=1),
                  call_ended("m2", caller="13800000000", queue="claims", at_minute=2), call_ended("m3", at_minute=3))
    await consume_once(stack.ctx)
    hq = stack.users[(Role.org_manager, "hq")]

    async def ids(**params) -> list[str]:  # type: ignore[no-untyped-def]
        r = await stack.get(hq, "/api/calls", params={"node": node, **params})
        assert r.status_code == 200, r.text
        return [c["call_id"] for c in r.json()]

    assert await ids() == ["m3", "m2", "m1", "m0"]
    assert await ids(abandoned="true") == ["m1"]
    assert await ids(answered="true", queue="complaints") == ["m3", "m0"]
    assert await ids(caller="13800000000") == ["m2"]
    assert await ids(since=(NOW + timedelta(minutes=1)).isoformat(), until=(NOW + timedelta(minutes=3)).isoformat()) \
        == ["m2", "m1"]
    assert await ids(limit=2, offset=1) == ["m2", "m1"]
    assert (await stack.get(hq, "/api/calls", params={"limit": 0})).status_code == 422


async def test_given_readers_with_and_without_pii_unmask_when_reading_a_call_then_the_caller_is_masked_or_audited(
        stack: Stack) -> None:
    _node, record_id = await _answered_in_outlet(stack)
    masked = await stack.get(stack.users[(Role.team_lead, "outlet")], f"/api/calls/{record_id}")
    assert masked.json()["caller"] == "139****5678"
    auditor = stack.users[(Role.auditor, "hq")]
    clear = await stack.get(auditor, f"/api/calls/{record_id}")
    assert clear.json()["caller"] == CALLER
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        seen = await s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "pii.view", AuditRecord.subject_type == "call",
            AuditRecord.subject_id == str(record_id), AuditRecord.username == auditor))
    assert seen == 1


@pytest.fixture
def recordings(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "recordings"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b").write_bytes(b"not yours")
    (tmp_path / "x").write_bytes(b"outside the folder")
    monkeypatch.setattr(stack.ctx.settings, "recordings_dir", folder)
    return folder


async def _plays(stack: Stack, record_id: int) -> int:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return await s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "recording.play", AuditRecord.subject_id == str(record_id)))


async def test_given_a_recorded_call_when_a_lead_plays_it_then_the_wav_streams_and_the_play_is_audited(
        stack: Stack, recordings: Path) -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))
    name = f"rec-{uuid.uuid4().hex}.wav"
    (recordings / name).write_bytes(wav)
    node, record_id = await _answered_in_outlet(stack, recording=name)
    lead = stack.users[(Role.team_lead, "outlet")]

    r = await stack.get(lead, f"/api/calls/{record_id}/recording")
    assert r.status_code == 200, r.text
    assert r.content == wav and r.headers["content-type"] == "audio/wav"
    assert await _plays(stack, record_id) == 1
    part = await stack.client.get(f"/api/calls/{record_id}/recording",
                                  headers={**await stack.as_user(lead), "Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"RIFF"

    assert (await stack.get(stack.users[(Role.agent, "outlet")], f"/api/calls/{record_id}/recording")).status_code == 403
    sibling = await stack.add_user(f"cdr_sib_{node}", Role.team_lead, stack.orgs["sibling_outlet"])
    assert (await stack.get(sibling, f"/api/calls/{record_id}/recording")).status_code == 404
    assert await _plays(stack, record_id) == 2


async def test_given_recording_names_that_leave_the_folder_or_are_missing_when_played_then_404(
        stack: Stack, recordings: Path) -> None:
    node = new_node()
    await drained(stack)
    await publish(stack, node, *(call_ended(f"r{i}", answered=False, recording=name)
                                 for i, name in enumerate(("../x", "a/b", "missing.wav", None))))
    await consume_once(stack.ctx)
    rows = await records(stack, node)
    assert [r.recording_file for r in rows] == ["../x", "a/b", "missing.wav", None]
    auditor = stack.users[(Role.auditor, "hq")]
    for row in rows:
        r = await stack.get(auditor, f"/api/calls/{row.id}/recording")
        assert r.status_code == 404, (row.recording_file, r.text)
        assert await _plays(stack, row.id) == 0
