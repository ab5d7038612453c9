"""Supervisor wallboard: the KPI figures folded from scripted event sequences (pure), and GET /api/wallboard
scoped to the caller's org subtree on both stacks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from backend.auth.models import User
from backend.auth.permissions import Role
from backend.core import events as ev
from backend.orgs.scope import Scope
from backend.wallboard.stats import WallboardStats, day_of
from tests.conftest import NOW, Stack

GOLDEN = Path(__file__).parent / "data" / "golden"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
S = timedelta(seconds=1)


def _call(cls: type[ev.CallEvent], call_id: str, **kw: object) -> ev.CallEvent:
    return cls(call_id=call_id, direction="inbound", caller="13912345678", **kw)


def _ended(call_id: str, queue: str | None, agent: str | None, talk: float | None, *, hold: float = 0.0,
           abandoned: bool = False) -> ev.CallEnded:
    return ev.CallEnded(call_id=call_id, direction="inbound", answered=talk is not None, abandoned=abandoned,
                        queue=queue, agent_interface=agent, duration_seconds=(talk or 0) + 30, talk_seconds=talk,
                        hold_seconds=hold)


def _state(interface: str, state: str, queues: tuple[str, ...], reason: str | None = None,
           call_id: str | None = None) -> ev.AgentStateChanged:
    return ev.AgentStateChanged(interface=interface, agent_name=interface, state=state, reason=reason, queues=queues,
                                call_id=call_id)


def scripted_day(q: str = "claims", a: str = "PJSIP/1001", b: str = "PJSIP/1002",
                 start: datetime = T0, prefix: str = "") -> list[tuple[ev.Event, datetime]]:
    """Five calls into ``q``: answered after 10 s (talk 100 s incl. 20 s hold, wrap-up 30 s), answered after
    25 s (talk 200 s, wrap-up 10 s), abandoned after 3 s, abandoned after 40 s, and one still waiting."""
    t = start
    return [
        (_state(a, "ready", (q,)), t - 600 * S),
        (_state(b, "ready", (q,)), t - 600 * S),
        (_call(ev.CallQueued, f"{prefix}c1", queue=q), t),
        (_call(ev.CallQueued, f"{prefix}c2", queue=q), t + 5 * S),
        (_call(ev.AgentRinging, f"{prefix}c1", queue=q, agent_interface=a), t + 8 * S),
        (_state(a, "ringing", (q,), call_id=f"{prefix}c1"), t + 8 * S),
        (_call(ev.CallAnswered, f"{prefix}c1", queue=q, agent_interface=a, wait_seconds=10.0), t + 10 * S),
        (_state(a, "on_call", (q,), call_id=f"{prefix}c1"), t + 10 * S),
        (_call(ev.CallQueued, f"{prefix}c3", queue=q), t + 20 * S),
        (_call(ev.CallAbandoned, f"{prefix}c3", queue=q, wait_seconds=3.0), t + 23 * S),
        (_call(ev.CallAnswered, f"{prefix}c2", queue=q, agent_interface=b, wait_seconds=25.0), t + 30 * S),
        (_state(b, "on_call", (q,), call_id=f"{prefix}c2"), t + 30 * S),
        (_call(ev.CallQueued, f"{prefix}c4", queue=q), t + 40 * S),
        (_call(ev.CallAbandoned, f"{prefix}c4", queue=q, wait_seconds=40.0), t + 80 * S),
        (_call(ev.CallQueued, f"{prefix}c5", queue=q), t + 90 * S),
        (_ended(f"{prefix}c1", q, a, 100.0, hold=20.0), t + 110 * S),
        (_state(a, "not_ready", (q,), reason="话后处理"), t + 110 * S),
        (_state(a, "ready", (q,)), t + 140 * S),
        (_ended(f"{prefix}c2", q, b, 200.0), t + 230 * S),
        (_state(b, "not_ready", (q,), reason="话后处理"), t + 230 * S),
        (_state(b, "ready", (q,)), t + 240 * S),
    ]


def _fold(events: list[tuple[ev.Event, datetime]]) -> WallboardStats:
    stats = WallboardStats()
    for event, at in events:
        stats.apply(event, at)
    return stats


def test_given_a_scripted_day_when_folded_then_sl_asa_aht_and_abandons_follow_the_domain_definitions() -> None:
    snap = _fold(scripted_day()).snapshot(T0 + 300 * S)
    q = snap.queues["claims"]
    assert (q.offered, q.answered, q.answered_within_sl, q.abandoned, q.abandoned_short, q.handled) == (5, 2, 1, 2, 1, 2)
    assert q.service_level == pytest.approx(1 / (5 - 1))  # answered ≤ 20 s ÷ (offered − abandoned ≤ 5 s)
    assert q.asa_seconds == pytest.approx((10 + 25) / 2)
    assert q.aht_seconds == pytest.approx((100 + 30 + 200 + 10) / 2)  # talk (hold inside) + wrap-up
    assert q.abandon_rate == pytest.approx(2 / 5) and q.answer_rate == pytest.approx(2 / 5)
    assert (q.waiting, q.longest_wait_seconds) == (1, 210.0)  # c5 queued at +90 s
    assert q.agents_by_state == {"ready": 2}


def test_given_agents_mid_call_and_in_wrap_up_then_state_time_in_state_and_current_call_show() -> None:
    stats = _fold(scripted_day()[:17])  # up to agent A entering 话后处理 at +110 s
    snap = stats.snapshot(T0 + 125 * S)
    a, b = snap.agents["PJSIP/1001"], snap.agents["PJSIP/1002"]
    assert (a.state, a.reason, a.seconds_in_state, a.handled, a.current_call) == ("wrap_up", "话后处理", 15.0, 1, None)
    assert (b.state, b.seconds_in_state, b.handled) == ("on_call", 95.0, 0)
    assert b.current_call is not None and (b.current_call.call_id, b.current_call.status,
                                           b.current_call.seconds) == ("c2", "talking", 95.0)
    assert snap.queues["claims"].agents_by_state == {"on_call": 1, "wrap_up": 1}
    assert stats.current_call_agent("c2") == "PJSIP/1002" and stats.current_call_agent("c1") is None


def test_given_an_agent_being_rung_then_the_ringing_call_is_current_and_clears_when_another_answers() -> None:
    q, t = "vip", T0
    stats = _fold([(_call(ev.CallQueued, "r1", queue=q), t),
                   (_call(ev.AgentRinging, "r1", queue=q, agent_interface="PJSIP/1003"), t + S),
                   (_call(ev.AgentRinging, "r1", queue=q, agent_interface="PJSIP/1004"), t + S)])
    ringing = stats.snapshot(t + 3 * S).agents["PJSIP/1003"].current_call
    assert ringing is not None and (ringing.status, ringing.seconds) == ("ringing", 2.0)
    stats.apply(_call(ev.CallAnswered, "r1", queue=q, agent_interface="PJSIP/1004", wait_seconds=4.0), t + 4 * S)
    snap = stats.snapshot(t + 5 * S)
    assert snap.agents["PJSIP/1003"].current_call is None
    assert snap.agents["PJSIP/1004"].current_call.status == "talking"  # type: ignore[union-attr]


def test_given_an_answered_call_put_on_hold_then_the_agents_current_call_is_held_until_resumed() -> None:
    q, t, phone = "vip", T0, "PJSIP/1005"
    stats = _fold([(_call(ev.CallQueued, "h1", queue=q), t),
                   (_call(ev.CallAnswered, "h1", queue=q, agent_interface=phone, wait_seconds=2.0), t + S),
                   (_call(ev.CallHeld, "h1", channel=f"{phone}-01"), t + 5 * S)])
    held = stats.snapshot(t + 6 * S).agents[phone].current_call
    assert held is not None and (held.status, held.seconds) == ("held", 5.0)  # the time on the call goes on
    stats.apply(_call(ev.CallResumed, "h1", channel=f"{phone}-01"), t + 9 * S)
    assert stats.snapshot(t + 10 * S).agents[phone].current_call.status == "talking"  # type: ignore[union-attr]


def test_given_shanghai_midnight_passes_then_counters_reset_but_live_state_stays() -> None:
    stats = _fold(scripted_day())
    midnight = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 on the 24th in Shanghai
    assert day_of(midnight - S).day == 23 and day_of(midnight).day == 24
    snap = stats.snapshot(midnight + S)
    q = snap.queues["claims"]
    assert (q.offered, q.answered, q.abandoned, q.handled, q.service_level, q.asa_seconds) == (0, 0, 0, 0, None, None)
    assert q.waiting == 1 and snap.agents["PJSIP/1001"].state == "ready" and snap.agents["PJSIP/1001"].handled == 0


def test_given_a_call_queued_before_midnight_and_answered_after_then_it_counts_on_the_day_it_queued() -> None:
    before = datetime(2026, 11, 23, 15, 59, 50, tzinfo=UTC)  # 23:59:50 in Shanghai
    stats = _fold([(_call(ev.CallQueued, "m1", queue="claims"), before),
                   (_call(ev.CallAnswered, "m1", queue="claims", agent_interface="PJSIP/1001", wait_seconds=15.0),
                    before + 15 * S)])
    q = stats.snapshot(before + 16 * S).queues["claims"]  # 00:00:06 on the 24th
    assert (q.offered, q.answered, q.service_level) == (0, 0, None)
    late = _fold([(_call(ev.CallQueued, "m1", queue="claims"), before),
                  (_call(ev.CallAnswered, "m1", queue="claims", agent_interface="PJSIP/1001", wait_seconds=15.0),
                   before + 15 * S)])
    q = late.snapshot(before + 5 * S).queues["claims"]  # still the 23rd: the answer is folded into it
    assert (q.offered, q.answered, q.service_level) == (1, 1, 1.0)


def test_given_the_same_events_and_clock_then_the_snapshot_is_the_same() -> None:
    now = T0 + 300 * S
    assert _fold(scripted_day()).snapshot(now) == _fold(scripted_day()).snapshot(now)


def test_given_the_recorded_golden_calls_when_folded_then_the_answered_and_abandoned_call_count_exactly() -> None:
    events: list[tuple[ev.Event, datetime]] = []
    for i, name in enumerate(("inbound_ivr_queue_answered", "inbound_queue_abandon")):
        for j, data in enumerate(json.loads((GOLDEN / f"{name}.calls.json").read_text())):
            klass = ev.event_class(data.pop("type"), 1)
            assert klass is not None
            events.append((klass.model_validate(data), T0 + (100 * i + j) * S))
    q = _fold(events).snapshot(T0 + 1000 * S).queues["complaints"]
    assert (q.offered, q.answered, q.answered_within_sl, q.abandoned, q.abandoned_short) == (2, 1, 1, 1, 0)
    assert q.service_level == pytest.approx(0.5) and q.asa_seconds == pytest.approx(2.0045)
    assert q.aht_seconds == pytest.approx(3.5043) and q.waiting == 0


# --- GET /api/wallboard on both stacks


async def _agent_with_phone(stack: Stack, org: str, role: Role = Role.agent) -> tuple[str, str]:
    name = f"wb_{role.value}_{uuid.uuid4().hex[:8]}"
    phone = f"PJSIP/wb{uuid.uuid4().hex[:10]}"
    await stack.add_user(name, role, stack.orgs[org])
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(User).where(User.username == name).values(phone_interface=phone))
    return name, phone


async def _publish(stack: Stack, events: list[tuple[ev.Event, datetime]]) -> None:
    for event, at in events:
        await stack.ctx.bus.publish(event, node=stack.ctx.settings.node_id, at=at)


@pytest.mark.stack
async def test_given_calls_in_two_branches_when_supervisors_read_the_wallboard_then_each_sees_their_subtree(
        stack: Stack) -> None:
    mine_q, other_q = f"q-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"
    _, a = await _agent_with_phone(stack, "outlet")
    _, b = await _agent_with_phone(stack, "outlet")
    _, elsewhere = await _agent_with_phone(stack, "other_outlet")
    start = NOW - timedelta(minutes=10)
    script = scripted_day(mine_q, a, b, start=start, prefix=f"{mine_q}-")
    await _publish(stack, script + [(_state(elsewhere, "not_ready", (other_q,), reason="小休"), start)])

    lead = await stack.get(stack.users[(Role.team_lead, "branch")], "/api/wallboard")
    assert lead.status_code == 200, lead.text
    body = lead.json()
    assert body["day"] == "2026-11-23" and body["service_level_seconds"] == 20
    queues = {q["queue"]: q for q in body["queues"]}
    assert mine_q in queues and other_q not in queues
    q = queues[mine_q]
    assert (q["offered"], q["answered"], q["abandoned"], q["abandoned_short"], q["waiting"]) == (5, 2, 2, 1, 1)
    assert q["service_level"] == pytest.approx(0.25) and q["asa_seconds"] == pytest.approx(17.5)
    assert q["aht_seconds"] == pytest.approx(170.0) and q["agents_by_state"] == {"ready": 2}
    assert q["longest_wait_seconds"] == pytest.approx(600 - 90)
    agents = {x["interface"]: x for x in body["agents"]}
    assert a in agents and b in agents and elsewhere not in agents
    assert agents[a]["handled"] == 1 and agents[a]["state"] == "ready" and agents[a]["wrapup_seconds"] == 30

    hq = (await stack.get(stack.users[(Role.team_lead, "hq")], "/api/wallboard")).json()
    assert {mine_q, other_q} <= {q["queue"] for q in hq["queues"]}
    assert {a, b, elsewhere} <= {x["interface"] for x in hq["agents"]}
    other = (await stack.get(stack.users[(Role.org_manager, "outlet")], "/api/wallboard")).json()  # call.read
    assert a in {x["interface"] for x in other["agents"]}


@pytest.mark.stack
async def test_given_a_role_without_supervise_or_call_read_when_reading_the_wallboard_then_403(stack: Stack) -> None:
    r = await stack.get(stack.users[(Role.agent, "outlet")], "/api/wallboard")
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert (await stack.client.get("/api/wallboard")).status_code == 401
