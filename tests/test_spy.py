"""Listen in and whisper (监听/密语): a supervisor's phone is originated into ChanSpy on the agent's channel —
over HTTP with a recording AMI stand-in on both stacks (permission, subtree, the exact Originate), and end
to end through the CTI bridge against the PBX simulator."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from backend.auth.models import User
from backend.auth.permissions import Role
from backend.core import events as ev
from backend.orgs.scope import Scope
from cti.calls.model import CallModel
from cti.simulator import AgentSpec
from tests.conftest import NOW, Stack
from tests.test_cti_commands import FakeSession
from tests.test_simulator_bridge import _ended, running
from tests.test_telephony_http import _call, _phone, pbx_node


async def _user(stack: Stack, role: Role, org: str, phone: str | None) -> str:
    name = f"spy_{role.value}_{uuid.uuid4().hex[:8]}"
    await stack.add_user(name, role, stack.orgs[org])
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        await s.execute(update(User).where(User.username == name).values(phone_interface=phone))
    return name


async def _live_call(stack: Stack, agent_phone: str) -> tuple[str, CallModel]:
    """A call the agent answered: on the bus (what the platform knows) and in the node's call model."""
    call_id = f"{uuid.uuid4().int % 10**9}.7"
    await stack.ctx.bus.publish(ev.CallAnswered(call_id=call_id, direction="inbound", queue="complaints",
                                                agent_interface=agent_phone, wait_seconds=3.0),
                                node=stack.ctx.settings.node_id, at=NOW)
    return call_id, _call(call_id, agent_phone)


@pytest.mark.stack
async def test_given_a_team_lead_when_listening_or_whispering_then_their_phone_is_originated_into_chanspy(
        stack: Stack) -> None:
    agent_phone, lead_phone = _phone(), _phone()
    await _user(stack, Role.agent, "outlet", agent_phone)
    lead = await _user(stack, Role.team_lead, "branch", lead_phone)
    call_id, model = await _live_call(stack, agent_phone)
    session = FakeSession()
    async with pbx_node(stack, session, model):
        listen = await stack.post(lead, f"/api/telephony/calls/{call_id}/spy", json={"mode": "listen"})
        whisper = await stack.post(lead, f"/api/telephony/calls/{call_id}/spy", json={"mode": "whisper"})
        barge = await stack.post(lead, f"/api/telephony/calls/{call_id}/spy", json={"mode": "barge"})
    assert listen.status_code == 200, listen.text
    assert listen.json()["ok"] is True and listen.json()["call_id"] == call_id
    assert whisper.status_code == 200 and barge.status_code == 422
    (a1, h1, id1), (a2, h2, _) = session.sent
    assert a1 == a2 == "Originate" and id1
    assert dict(h1)["Channel"] == lead_phone and dict(h1)["Application"] == "ChanSpy"
    assert dict(h1)["Data"] == f"{agent_phone}-00000002,qE" and dict(h2)["Data"] == f"{agent_phone}-00000002,qEw"
    assert dict(h1)["Async"] == "true" and "Context" not in dict(h1)


@pytest.mark.stack
async def test_given_a_call_outside_the_supervisors_subtree_or_unknown_when_spying_then_404_and_nothing_sent(
        stack: Stack) -> None:
    agent_phone = _phone()
    await _user(stack, Role.agent, "outlet", agent_phone)
    other_lead = await _user(stack, Role.team_lead, "other_branch", _phone())
    call_id, model = await _live_call(stack, agent_phone)
    session = FakeSession()
    async with pbx_node(stack, session, model):
        hidden = await stack.post(other_lead, f"/api/telephony/calls/{call_id}/spy", json={"mode": "listen"})
        unknown = await stack.post(other_lead, "/api/telephony/calls/no-such-call/spy", json={"mode": "listen"})
    assert hidden.status_code == 404 and unknown.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert session.sent == []


@pytest.mark.stack
async def test_given_an_agent_without_supervise_when_spying_then_403(stack: Stack) -> None:
    agent_phone = _phone()
    agent = await _user(stack, Role.agent, "outlet", agent_phone)
    call_id, _ = await _live_call(stack, agent_phone)
    r = await stack.post(agent, f"/api/telephony/calls/{call_id}/spy", json={"mode": "listen"})
    assert r.status_code == 403


async def test_given_a_live_call_on_the_simulator_when_a_supervisor_whispers_then_the_phone_answers_into_chanspy(
        tmp_path: Path) -> None:
    agents = [AgentSpec("PJSIP/1001", "Agent 1001", 1.0, 40.0),
              AgentSpec("PJSIP/1009", "班长 1009", 1.0, static=False)]  # the supervisor's phone, in no queue
    async with running(tmp_path, "complaints", agents, wrapup_seconds=0) as stack:
        await stack.sim.inbound_call("13912345678", keys=("1",), gap=1.0, stay=120)
        events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
        call_id = next(e.call_id for e in events if e.type == "call.answered")
        result = await stack.command(ev.SpyCommand(
            command_id="spy-1", node=stack.bridge.node, call_id=call_id, agent_interface="PJSIP/1001",
            supervisor_interface="PJSIP/1009", mode="whisper"))
        assert result.ok, result.error
        events = await stack.wait_for(lambda es: any(e.type == "call.originate_result" for e in es))
        outcome = next(e for e in events if e.type == "call.originate_result")
        assert (outcome.command_id, outcome.success, outcome.reason) == ("spy-1", True, 4)
        refused = await stack.command(ev.SpyCommand(
            command_id="spy-2", node=stack.bridge.node, call_id=call_id, agent_interface="PJSIP/1002",
            supervisor_interface="PJSIP/1009", mode="listen"))
        assert not refused.ok and "not on call" in (refused.error or "")
        await stack.wait_for(lambda es: sum(e.type == "call.ended" for e in es) >= 2 and _ended(es), timeout=15)

    start = next(f for name, f in stack.ami if name == "ChanSpyStart")
    assert start["SpyerChannel"].startswith("PJSIP/1009-") and start["SpyeeChannel"].startswith("PJSIP/1001-")
    spy_app = next(f for name, f in stack.ami if name == "Newexten" and f["Application"] == "ChanSpy")
    assert spy_app["AppData"] == f"{start['SpyeeChannel']},qEw"
    names = [name for name, _ in stack.ami]
    assert names.index("ChanSpyStart") < names.index("ChanSpyStop")
    # E: the supervisor's phone hangs up with the agent's channel
    hangups = [f["Channel"] for name, f in stack.ami if name == "Hangup"]
    assert any(h.startswith("PJSIP/1009-") for h in hangups)
