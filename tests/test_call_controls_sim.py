"""Call controls end to end: the CTI bridge's commands against the PBX simulator in production (PJSIP) mode —
click-to-call, hold and resume, transfers to a number, ending a consultation — and the events the bridge
publishes for them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.core import events as ev
from cti.commands import HOLD_KEYS
from cti.simulator import AgentSpec
from tests.sim_helpers import action, exchange
from tests.test_simulator_bridge import SPEED, Stack, _ended, running

AGENT = "PJSIP/1001"
NUMBER = "13800000001"


def _click_to_call(stack: Stack, command_id: str, number: str = NUMBER) -> ev.ClickToCallCommand:
    return ev.ClickToCallCommand(command_id=command_id, node=stack.bridge.node, channel=AGENT,
                                 context="from-internal", exten="9" + number, caller_id='"坐席" <1001>')


def _of(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


async def _ami_until(stack: Stack, predicate: Callable[[list[tuple[str, dict[str, str]]]], bool],
                     timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate(stack.ami):
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), timeout)


async def _answered_inbound(stack: Stack) -> str:
    await stack.sim.inbound_call("13912345678", keys=("1",), gap=1.0, stay=120)
    events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
    return next(e.call_id for e in events if e.type == "call.answered")


async def test_given_an_agent_phone_when_click_to_call_runs_on_the_simulator_then_the_call_is_the_agents_outbound_call(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 20.0)]) as stack:
        result = await stack.command(_click_to_call(stack, "c2c-1"))
        assert result.ok, result.error
        events = await stack.wait_for(_ended, timeout=15)

    assert [e.type for e in events] == ["call.offered", "call.agent_ringing", "call.originate_result",
                                        "call.answered", "call.ended"]
    offered, ringing, outcome, answered, ended = events
    assert (offered.direction, offered.command_id) == ("outbound", "c2c-1")
    assert offered.origin_channel.startswith(AGENT + "-")
    assert ringing.agent_interface == AGENT and answered.agent_interface == AGENT
    assert (outcome.success, outcome.reason, outcome.call_id) == (True, 4, offered.call_id)
    assert ended.answered and ended.agent_interface == AGENT and ended.command_id == "c2c-1"
    # the agent put the phone down after 20 simulated seconds (the bridge's clock is the real one)
    assert ended.talk_seconds and 15 / SPEED < ended.talk_seconds < 25 / SPEED
    # the trunk leg is the customer, never taken for an agent rung
    assert all(e.agent_interface == AGENT for e in _of(events, "call.agent_ringing") + _of(events, "call.answered"))

    names = [name for name, _ in stack.ami]
    # as in the recorded outbound traces: the originate's own DialBegin has no calling channel, and
    # OriginateResponse comes once the phone is up, before the phone's channel runs the dialplan
    first_dial = next(f for name, f in stack.ami if name == "DialBegin")
    assert "Channel" not in first_dial and first_dial["DestChannel"].startswith(AGENT + "-")
    response = next(f for name, f in stack.ami if name == "OriginateResponse")
    assert (response["Response"], response["Reason"], response["Exten"]) == ("Success", "4", "9" + NUMBER)
    trunk_dial = [f for name, f in stack.ami if name == "DialBegin" and f.get("Channel")]
    assert [f["DialString"] for f in trunk_dial] == [f"{NUMBER}@operator"]
    assert trunk_dial[0]["DestChannel"].startswith("PJSIP/operator-")
    assert trunk_dial[0]["DestLinkedid"] == offered.call_id
    assert names.index("OriginateResponse") < names.index("BridgeEnter")
    apps = [f["AppData"] for name, f in stack.ami if name == "Newexten" and f["Application"] == "Dial"]
    assert apps == [f"PJSIP/{NUMBER}@operator,60"]


async def test_given_a_busy_number_when_clicked_then_the_agent_answered_but_the_call_ends_unanswered_as_busy(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 20.0)]) as stack:
        stack.sim.config.busy_numbers = ("13800000002",)
        assert (await stack.command(_click_to_call(stack, "c2c-busy", "13800000002"))).ok
        events = await stack.wait_for(_ended, timeout=15)

    outcome, ended = _of(events, "call.originate_result")[0], _of(events, "call.ended")[0]
    assert outcome.success  # the agent's phone answered: the originate did what it was asked
    assert not ended.answered and (ended.hangup_cause, ended.hangup_cause_text) == (17, "User busy")
    assert ended.agent_interface == AGENT and _of(events, "call.answered") == []
    dial_ends = [f["DialStatus"] for name, f in stack.ami if name == "DialEnd" and f.get("Channel")]
    assert dial_ends == ["BUSY"]


async def test_given_an_agent_phone_that_is_not_picked_up_when_clicked_then_the_originate_fails_no_answer(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", None)]) as stack:
        command = _click_to_call(stack, "c2c-noanswer").model_copy(update={"timeout_seconds": 5})
        assert (await stack.command(command)).ok
        events = await stack.wait_for(_ended, timeout=15)

    outcome = _of(events, "call.originate_result")[0]
    assert (outcome.success, outcome.reason, outcome.reason_text) == (False, 3, "no answer")
    assert not _of(events, "call.ended")[0].answered
    assert [name for name, _ in stack.ami if name == "Newchannel"] == ["Newchannel"]  # nobody was dialled


async def test_given_an_answered_call_when_the_agent_holds_and_resumes_then_the_phone_is_notified_and_the_call_is_held(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0)],
                       wrapup_seconds=0) as stack:
        call_id = await _answered_inbound(stack)
        held = await stack.command(ev.HoldCommand(command_id="h-1", node=stack.bridge.node, call_id=call_id,
                                                  agent_interface=AGENT, on=True))
        assert held.ok, held.error
        await stack.wait_for(lambda es: any(e.type == "call.held" for e in es))
        await asyncio.sleep(0.2)  # a few simulated seconds on hold
        resumed = await stack.command(ev.HoldCommand(command_id="h-2", node=stack.bridge.node, call_id=call_id,
                                                     on=False))  # a supervisor's: the call's agent is meant
        assert resumed.ok, resumed.error
        events = await stack.wait_for(lambda es: any(e.type == "call.resumed" for e in es))
        refused = await stack.command(ev.HoldCommand(command_id="h-3", node=stack.bridge.node, call_id=call_id,
                                                     agent_interface="PJSIP/1002", on=True))
        assert not refused.ok and "not on call" in (refused.error or "")
        stack.sim.pbx.hangup_request(stack.sim.pbx.find(events[0].origin_channel), 16)
        events = await stack.wait_for(_ended)

    hold, resume = _of(events, "call.held")[0], _of(events, "call.resumed")[0]
    assert hold.channel.startswith(AGENT + "-") and resume.channel == hold.channel
    assert _of(events, "call.ended")[0].hold_seconds > 1.0 / SPEED
    # the digits were keyed on the agent's channel and ran the dynamic feature's in-dialog NOTIFY
    keyed = [f["Digit"] for name, f in stack.ami if name == "DTMFEnd" and f["Channel"] == hold.channel]
    assert "".join(keyed) == HOLD_KEYS + "*82"
    notifies = [f["AppData"] for name, f in stack.ami if name == "Newexten" and f["Application"] == "PJSIPNotify"]
    assert notifies == [",&Event=hold", ",&Event=talk"]
    moh = [(name, f["Channel"]) for name, f in stack.ami if name in ("MusicOnHoldStart", "MusicOnHoldStop")]
    assert ("MusicOnHoldStart", events[0].origin_channel) in moh  # the caller heard hold music


async def test_given_a_click_to_call_in_progress_when_the_agent_holds_then_the_phones_own_call_is_held(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 60.0)]) as stack:
        assert (await stack.command(_click_to_call(stack, "c2c-hold"))).ok
        events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
        call_id = _of(events, "call.answered")[0].call_id
        held = await stack.command(ev.HoldCommand(command_id="h-9", node=stack.bridge.node, call_id=call_id,
                                                  agent_interface=AGENT, on=True))
        assert held.ok, held.error
        events = await stack.wait_for(lambda es: any(e.type == "call.held" for e in es))

    assert _of(events, "call.held")[0].channel == _of(events, "call.offered")[0].origin_channel


async def test_given_a_phone_endpoint_when_pjsipnotify_is_sent_over_ami_then_the_simulator_answers_like_asterisk(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0)],
                       wrapup_seconds=0) as stack:
        call_id = await _answered_inbound(stack)
        login = action("Login", ActionID="l", Username="cti", Secret="cti-secret", Events="off")
        got = (await exchange(stack.sim.port, [
            login, action("PJSIPNotify", ActionID="n1", Endpoint="PJSIP/1001", Variable="Event=hold"),
            action("PJSIPNotify", ActionID="n2", Endpoint="9999", Variable="Event=hold"),
            action("PJSIPNotify", ActionID="n3")])).decode()
        events = await stack.wait_for(lambda es: any(e.type == "call.held" and e.call_id == call_id for e in es))
        assert events

    assert "ActionID: n1\r\nMessage: NOTIFY sent\r\n" in got
    assert "Response: Error\r\nActionID: n2\r\nMessage: Unable to retrieve endpoint 9999\r\n" in got
    assert "ActionID: n3\r\nMessage: PJSIPNotify requires either an endpoint name or a SIP URI.\r\n" in got


async def test_given_an_answered_call_when_blind_transferred_to_a_number_then_the_caller_is_dialled_out(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0)],
                       wrapup_seconds=0) as stack:
        stack.sim.config.outside_talk_time = 5.0
        call_id = await _answered_inbound(stack)
        result = await stack.command(ev.BlindTransferCommand(command_id="bt-1", node=stack.bridge.node,
                                                             call_id=call_id, context="transfer",
                                                             exten="9" + NUMBER))
        assert result.ok, result.error
        events = await stack.wait_for(_ended, timeout=15)

    assert [(e.kind, e.target) for e in _of(events, "call.transferred")] == [("blind", f"9{NUMBER}@transfer")]
    caller = events[0].origin_channel
    out = [f for name, f in stack.ami if name == "DialBegin" and f.get("Channel") == caller
           and f["DestChannel"].startswith("PJSIP/operator-")]
    assert [f["DialString"] for f in out] == [f"{NUMBER}@operator"]
    bridged = [f["Channel"] for name, f in stack.ami if name == "BridgeEnter"]
    assert out[0]["DestChannel"] in bridged  # the outside party answered and talked with the caller


async def test_given_a_click_to_call_when_blind_transferred_to_a_queue_then_the_customer_not_the_agent_is_moved(
        tmp_path: Path) -> None:
    agents = [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0, static=False), AgentSpec("PJSIP/1002", "Agent 1002", 1.0, 3.0)]
    async with running(tmp_path, "claims", agents, wrapup_seconds=0) as stack:
        assert (await stack.command(_click_to_call(stack, "c2c-bt"))).ok
        events = await stack.wait_for(lambda es: any(e.type == "call.answered" for e in es))
        call_id = _of(events, "call.answered")[0].call_id
        result = await stack.command(ev.BlindTransferCommand(command_id="bt-2", node=stack.bridge.node,
                                                             call_id=call_id, context="transfer", exten="claims",
                                                             agent_interface=AGENT))
        assert result.ok, result.error
        events = await stack.wait_for(_ended, timeout=20)

    redirect_channels = [f["Channel"] for name, f in stack.ami if name == "QueueCallerJoin"]
    assert len(redirect_channels) == 1 and redirect_channels[0].startswith("PJSIP/operator-")
    assert [e.queue for e in _of(events, "call.queued")] == ["claims"]
    assert [e.agent_interface for e in _of(events, "call.answered")] == [AGENT, "PJSIP/1002"]
    assert _of(events, "call.ended")[0].agent_interface == AGENT  # the record keeps who placed and took it


async def _consulting(stack: Stack, exten: str) -> str:
    """An answered call whose agent (1001) is consulting ``exten`` (answered); its call id."""
    stack.sim.config.consult_time = 60.0  # the simulated agent waits for the console, not for a timer
    call_id = await _answered_inbound(stack)
    result = await stack.command(ev.AttendedTransferCommand(
        command_id=f"at-{exten}", node=stack.bridge.node, call_id=call_id, agent_interface=AGENT,
        context="transfer", exten=exten))
    assert result.ok, result.error
    await _ami_until(stack, lambda ami: any(name == "DialEnd" and f.get("DialStatus") == "ANSWER"
                                            and f.get("Channel", "").startswith(AGENT) for name, f in ami))
    return call_id


async def test_given_a_consultation_when_cancelled_then_the_colleague_is_dropped_and_the_agent_has_the_caller_back(
        tmp_path: Path) -> None:
    agents = [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0), AgentSpec("PJSIP/1002", "Agent 1002", 1.0, 60.0,
                                                                     static=False)]
    async with running(tmp_path, "complaints", agents, wrapup_seconds=0) as stack:
        call_id = await _consulting(stack, "1002")
        result = await stack.command(ev.AttendedTransferFinishCommand(
            command_id="fin-1", node=stack.bridge.node, call_id=call_id, agent_interface=AGENT, complete=False))
        assert result.ok, result.error
        events = await stack.wait_for(lambda es: any(e.type == "call.resumed" for e in es))
        agent_channel = _of(events, "call.held")[0].channel
        assert stack.sim.pbx.find(agent_channel) is not None  # still talking with the caller
        await stack.command(ev.HangupCommand(command_id="x", node=stack.bridge.node, call_id=call_id))
        events = await stack.wait_for(_ended)

    assert _of(events, "call.transferred") == []
    assert [name for name, _ in stack.ami if name == "AttendedTransfer"] == []
    hangups = [f["Channel"] for name, f in stack.ami if name == "Hangup"]
    assert hangups[0].startswith("PJSIP/1002-")  # the colleague went first, while the call went on


async def test_given_a_consultation_with_an_outside_number_when_completed_then_the_caller_is_handed_over(
        tmp_path: Path) -> None:
    async with running(tmp_path, "complaints", [AgentSpec(AGENT, "Agent 1001", 1.0, 40.0)],
                       wrapup_seconds=0) as stack:
        stack.sim.config.outside_talk_time = 5.0
        call_id = await _consulting(stack, "9" + NUMBER)
        result = await stack.command(ev.AttendedTransferFinishCommand(
            command_id="fin-2", node=stack.bridge.node, call_id=call_id, agent_interface=AGENT, complete=True))
        assert result.ok, result.error
        events = await stack.wait_for(_ended, timeout=15)

    transferred = _of(events, "call.transferred")
    assert [(e.kind, e.target) for e in transferred] == [("attended", "PJSIP/operator")]
    xfer = next(f for name, f in stack.ami if name == "AttendedTransfer")
    assert xfer["Result"] == "Success" and xfer["TransferTargetChannel"].startswith("PJSIP/operator-")
