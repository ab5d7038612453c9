"""Telephony control over HTTP: each request becomes a command on the bus, a PBX node's cti carries it
out (a real CommandRunner, with a recording stand-in for the AMI session) and its answer comes back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select, update

from backend.auth.models import User
from backend.auth.permissions import Role
from backend.core.clock import FrozenClock
from backend.orgs.scope import Scope
from cti.ami import events as ami
from cti.calls.model import CallModel
from cti.commands import CommandRunner
from tests.conftest import NOW, Stack
from tests.test_cti_commands import FakeSession

pytestmark = pytest.mark.stack


@asynccontextmanager
async def pbx_node(stack: Stack, session: FakeSession, model: CallModel) -> AsyncIterator[None]:
    async def publish(_events):  # type: ignore[no-untyped-def]
        return None

    runner = CommandRunner(stack.ctx.settings.node_id, stack.ctx.bus, model, FrozenClock(NOW), lambda: session,  # type: ignore[arg-type,return-value]
                           publish)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(runner.run(stop, ready))
    await ready.wait()
    await asyncio.sleep(0.05)  # the subscription is reading
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def _agent(stack: Stack, role: Role = Role.agent, org: str = "outlet", phone: str | None = None) -> str:
    name = f"tel_{role.value}_{uuid.uuid4().hex[:8]}"
    await stack.add_user(name, role, stack.orgs[org])
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(User).where(User.username == name).values(phone_interface=phone))
    return name


def _call(call_id: str, agent_phone: str) -> CallModel:
    model = CallModel()
    model.handle(ami.Newchannel(channel="PJSIP/operator-00000001", uniqueid=call_id, linkedid=call_id,
                                caller_num="13912345678", context="from-trunk", exten="95500"), NOW)
    model.handle(ami.Newchannel(channel=f"{agent_phone}-00000002", uniqueid=call_id + "1", linkedid=call_id), NOW)
    return model


def _phone() -> str:
    return f"PJSIP/{uuid.uuid4().int % 9000 + 1000}{uuid.uuid4().hex[:4]}"


async def test_given_an_agent_with_a_phone_when_dialling_then_their_phone_is_originated_into_the_dial_context(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        r = await stack.post(agent, "/api/telephony/dial", json={"number": "138-0000-0001"})
    assert r.status_code == 202, r.text
    assert r.json()["ok"] is True and r.json()["command_id"]
    action, headers, action_id = session.sent[0]
    assert action == "Originate" and action_id
    assert dict(headers)["Channel"] == phone and dict(headers)["Exten"] == "913800000001"
    assert dict(headers)["Context"] == stack.ctx.settings.dial_context


@pytest.mark.parametrize("number", ["", "12", "138000000012345678901", "1380000000a", "110;Action: Hangup"])
async def test_given_a_bad_number_when_dialling_then_422_and_no_command(stack: Stack, number: str) -> None:
    agent = await _agent(stack, phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        r = await stack.post(agent, "/api/telephony/dial", json={"number": number})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert session.sent == []


async def test_given_a_user_without_a_phone_when_dialling_then_409_says_so(stack: Stack) -> None:
    agent = await _agent(stack)
    r = await stack.post(agent, "/api/telephony/dial", json={"number": "13800000001"})
    assert r.status_code == 409 and "分机" in r.json()["title"]


async def test_given_a_role_without_call_control_when_dialling_then_403(stack: Stack) -> None:
    r = await stack.post(stack.users[(Role.auditor, "outlet")], "/api/telephony/dial", json={"number": "13800000001"})
    assert r.status_code == 403


async def test_given_no_pbx_node_answers_when_a_command_is_sent_then_503_after_the_timeout(stack: Stack,
                                                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stack.ctx.settings, "cti_command_timeout_seconds", 0.2)
    agent = await _agent(stack, phone=_phone())
    r = await stack.post(agent, "/api/telephony/dial", json={"number": "13800000001"})
    assert r.status_code == 503 and r.json()["title"] == "电话系统暂不可用"


async def test_given_an_agent_on_a_call_when_hanging_up_then_it_ends_but_not_someone_elses(stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    other = await _agent(stack, phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, _call("1795.7", phone)):
        mine = await stack.post(agent, "/api/telephony/calls/1795.7/hangup")
        theirs = await stack.post(other, "/api/telephony/calls/1795.7/hangup")
    assert mine.status_code == 200 and mine.json()["call_id"] == "1795.7"
    assert theirs.status_code == 409 and "is not on call 1795.7" in theirs.json()["detail"]
    assert [a for a, _, _ in session.sent] == ["Hangup"]


async def test_given_team_leads_when_hanging_up_then_only_calls_of_their_subtrees_agents_or_waiting_ones_at_hq(
        stack: Stack) -> None:
    from backend.core import events as ev

    phone = _phone()
    await _agent(stack, phone=phone)  # an agent of the outlet, on call 1795.8
    outlet_lead = await _agent(stack, Role.team_lead, phone=_phone())
    other_lead = await _agent(stack, Role.team_lead, org="other_branch", phone=_phone())
    hq_lead = await _agent(stack, Role.team_lead, org="hq", phone=_phone())
    node, at = stack.ctx.settings.node_id, stack.clock.now()
    await stack.ctx.bus.publish(ev.CallAnswered(call_id="1795.8", direction="inbound", caller="13900000008",
                                                queue="complaints", agent_interface=phone, wait_seconds=2.0),
                                node=node, at=at)
    await stack.ctx.bus.publish(ev.CallQueued(call_id="1795.18", direction="inbound", caller="13900000018",
                                              queue="complaints"), node=node, at=at)
    session = FakeSession()
    async with pbx_node(stack, session, _call("1795.8", phone)):
        ok = await stack.post(outlet_lead, "/api/telephony/calls/1795.8/hangup")
        elsewhere = await stack.post(other_lead, "/api/telephony/calls/1795.8/hangup")
        waiting_outlet = await stack.post(outlet_lead, "/api/telephony/calls/1795.18/recording", json={"start": True})
        waiting_hq = await stack.post(hq_lead, "/api/telephony/calls/1795.18/hangup")
    assert ok.status_code == 200, ok.text
    assert [a for a, _, _ in session.sent][:1] == ["Hangup"]
    assert elsewhere.status_code == 404 and waiting_outlet.status_code == 404  # another branch's call; a queue's
    assert waiting_hq.status_code in (200, 409)  # the head office's lead may act; the stand-in node has no such call


async def test_given_a_transfer_to_a_queue_then_the_caller_is_redirected_into_the_transfer_context(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession()
    async with pbx_node(stack, session, _call("1795.9", phone)):
        ok = await stack.post(agent, "/api/telephony/calls/1795.9/transfer", json={"queue": "claims"})
        unknown = await stack.post(agent, "/api/telephony/calls/1795.9/transfer", json={"queue": "nope"})
        both = await stack.post(agent, "/api/telephony/calls/1795.9/transfer",
                                json={"queue": "claims", "extension": "1002"})
    assert ok.status_code == 200, ok.text
    assert session.sent[0][0] == "Redirect" and ("Exten", "claims") in session.sent[0][1]
    assert ("Context", stack.ctx.settings.transfer_context) in session.sent[0][1]
    assert unknown.status_code == 422 and both.status_code == 422 and len(session.sent) == 1


async def test_given_an_attended_transfer_then_atxfer_runs_on_the_agents_channel(stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession()
    async with pbx_node(stack, session, _call("1795.10", phone)):
        r = await stack.post(agent, "/api/telephony/calls/1795.10/transfer", json={"kind": "attended",
                                                                                  "extension": "1003"})
    assert r.status_code == 200, r.text
    assert session.sent[0] == ("Atxfer", [("Channel", f"{phone}-00000002"), ("Exten", "1003"),
                                          ("Context", stack.ctx.settings.transfer_context)], None)


async def test_given_the_pbx_refuses_then_409_carries_its_message(stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession(refuse={"MixMonitor": "Could not start monitor"})
    async with pbx_node(stack, session, _call("1795.11", phone)):
        r = await stack.post(agent, "/api/telephony/calls/1795.11/recording", json={"start": True})
    assert r.status_code == 409 and "Could not start monitor" in r.json()["detail"]


async def test_given_an_agent_when_going_not_ready_then_a_reason_is_required_and_sent(stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession()
    headers = await stack.as_user(agent)
    async with pbx_node(stack, session, CallModel()):
        no_reason = await stack.client.put("/api/telephony/agents/me/state", json={"ready": False}, headers=headers)
        bad_reason = await stack.client.put("/api/telephony/agents/me/state", json={"ready": False, "reason": "睡觉"},
                                            headers=headers)
        paused = await stack.client.put("/api/telephony/agents/me/state", json={"ready": False, "reason": "小休"},
                                        headers=headers)
        ready = await stack.client.put("/api/telephony/agents/me/state", json={"ready": True}, headers=headers)
    assert (no_reason.status_code, bad_reason.status_code, paused.status_code, ready.status_code) == (422, 422, 200, 200)
    assert session.sent == [
        ("QueuePause", [("Interface", phone), ("Paused", "true"), ("Reason", "小休")], None),
        ("QueuePause", [("Interface", phone), ("Paused", "false")], None)]


async def test_given_an_agent_when_logging_in_and_out_of_queues_then_membership_follows(stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession(refuse={"QueueRemove": "Unable to remove interface: Not there"})
    headers = await stack.as_user(agent)
    async with pbx_node(stack, session, CallModel()):
        login = await stack.client.put("/api/telephony/agents/me/queues", json={"queues": ["claims", "vip"]},
                                       headers=headers)
        logout = await stack.client.delete("/api/telephony/agents/me/queues", headers=headers)
    assert login.status_code == 200 and logout.status_code == 204
    adds = [dict(h) for a, h, _ in session.sent if a == "QueueAdd"]
    assert [(h["Queue"], h["Interface"], h["Paused"]) for h in adds] == [("claims", phone, "true"), ("vip", phone, "true")]
    assert [dict(h)["Queue"] for a, h, _ in session.sent if a == "QueueRemove"] == stack.ctx.settings.cti_queues


async def test_given_a_team_lead_when_pausing_agents_then_only_those_of_their_subtree(stack: Stack) -> None:
    lead = await _agent(stack, Role.team_lead, org="branch")
    mine = await _agent(stack, org="outlet", phone=_phone())
    elsewhere = await _agent(stack, org="other_outlet", phone=_phone())
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        ids = dict((await s.execute(select(User.username, User.id).where(User.username.in_([mine, elsewhere])))).all())
    session = FakeSession()
    headers = await stack.as_user(lead)
    async with pbx_node(stack, session, CallModel()):
        ok = await stack.client.put(f"/api/telephony/agents/{ids[mine]}/state", json={"ready": False, "reason": "培训"},
                                    headers=headers)
        hidden = await stack.client.put(f"/api/telephony/agents/{ids[elsewhere]}/state", json={"ready": True},
                                        headers=headers)
    assert ok.status_code == 200 and hidden.status_code == 404 and len(session.sent) == 1
    agent_try = await stack.client.put(f"/api/telephony/agents/{ids[mine]}/state", json={"ready": True},
                                       headers=await stack.as_user(mine))
    assert agent_try.status_code == 403


async def test_given_an_agent_paused_on_the_phone_when_the_console_asks_then_its_state_queues_and_wrapup_length(
        stack: Stack) -> None:
    from backend.core import events as ev

    phone = _phone()
    agent = await _agent(stack, phone=phone)
    fresh = (await stack.get(agent, "/api/telephony/agents/me/state")).json()
    assert (fresh["state"], fresh["queues"], fresh["interface"]) == ("logged_out", [], phone)
    await stack.ctx.bus.publish(ev.AgentStateChanged(interface=phone, agent_name="x", state="not_ready", reason="小休",
                                                     queues=("complaints",)), node=stack.ctx.settings.node_id,
                                at=stack.clock.now())
    r = await stack.get(agent, "/api/telephony/agents/me/state")
    assert r.status_code == 200, r.text
    mine = r.json()
    assert (mine["state"], mine["reason"], mine["queues"]) == ("not_ready", "小休", ["complaints"])
    assert mine["available_queues"] == stack.ctx.settings.cti_queues
    assert mine["wrapup_seconds"] == stack.ctx.settings.wrapup_seconds


async def test_given_an_agent_on_a_call_when_the_console_asks_then_the_call_with_its_caller_and_not_after_it_ends(
        stack: Stack) -> None:
    from backend.core import events as ev

    phone = _phone()
    agent = await _agent(stack, phone=phone)
    node, at = stack.ctx.settings.node_id, stack.clock.now()
    call = {"call_id": f"me-{phone}", "direction": "inbound", "caller": "13912340000", "queue": "complaints"}
    await stack.ctx.bus.publish(ev.AgentRinging(**call, agent_interface=phone), node=node, at=at)
    ringing = (await stack.get(agent, "/api/telephony/agents/me/state")).json()["call"]
    assert {k: ringing[k] for k in ("call_id", "status", "caller", "queue")} == {
        "call_id": call["call_id"], "status": "ringing", "caller": "13912340000", "queue": "complaints"}
    await stack.ctx.bus.publish(ev.CallAnswered(**call, agent_interface=phone, wait_seconds=3.0), node=node, at=at)
    assert (await stack.get(agent, "/api/telephony/agents/me/state")).json()["call"]["status"] == "talking"
    # The supervisor's wallboard does not carry the caller's number.
    lead = await _agent(stack, role=Role.team_lead)
    board = (await stack.get(lead, "/api/wallboard")).json()
    [row] = [a for a in board["agents"] if a["interface"] == phone]
    assert row["current_call"]["call_id"] == call["call_id"] and "13912340000" not in str(board)
    await stack.ctx.bus.publish(ev.CallEnded(**call, answered=True, agent_interface=phone, duration_seconds=9.0,
                                             talk_seconds=6.0), node=node, at=at)
    assert (await stack.get(agent, "/api/telephony/agents/me/state")).json()["call"] is None
