"""Commands to a PBX node: each becomes the right AMI action and gets exactly one result event;
after-call work pauses and unpauses agents by the rules of cti.agents.wrapup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from backend.core import events as ev
from backend.core.bus import FROM_START, create_bus
from backend.core.clock import FrozenClock
from cti.agents.model import AgentModel
from cti.agents.wrapup import WRAPUP_REASON, WrapUp
from cti.ami import events as ami
from cti.ami.client import ActionFailed
from cti.ami.frames import AmiMessage, encode_action
from cti.calls.model import CallModel
from cti.commands import CommandRunner

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CALLER = ami.Newchannel(channel="PJSIP/operator-00000001", uniqueid="1795.1", linkedid="1795.1",
                        caller_num="13912345678", context="from-trunk", exten="95500")
AGENT = ami.Newchannel(channel="PJSIP/1001-00000002", uniqueid="1795.2", linkedid="1795.1",
                       caller_num="13912345678", context="agents", exten="1001")


class FakeSession:
    """Stands in for an AMI session: records actions, answers Success unless told to refuse one."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.sent: list[tuple[str, list[tuple[str, str]], str | None]] = []
        self.refuse = refuse or {}

    async def send(self, action: str, headers=(), *, check: bool = True, action_id: str | None = None) -> AmiMessage:  # type: ignore[no-untyped-def]
        encode_action(action, action_id or "t-1", headers)  # what the real session does: refuses CR/LF
        self.sent.append((action, list(headers), action_id))
        if action in self.refuse:
            raise ActionFailed(action, AmiMessage({"Response": "Error", "Message": self.refuse[action]}))
        return AmiMessage({"Response": "Success"})


def _runner(session: FakeSession | None, model: CallModel | None = None):  # type: ignore[no-untyped-def]
    bus = create_bus("memory://")
    published: list[ev.Event] = []

    async def publish(events: list[ev.Event]) -> None:
        published.extend(events)

    runner = CommandRunner("pbx1", bus, model or CallModel(), FrozenClock(AT), lambda: session, publish)  # type: ignore[arg-type]
    return runner, bus, published


def _live_call() -> CallModel:
    model = CallModel()
    model.handle(CALLER, AT)
    model.handle(AGENT, AT)
    return model


async def test_given_a_live_call_when_hangup_is_commanded_then_the_callers_channel_is_hung_up() -> None:
    session = FakeSession()
    runner, bus, _ = _runner(session, _live_call())
    result = await runner.answer(ev.HangupCommand(command_id="c1", node="pbx1", call_id="1795.1"))
    assert result.ok and result.call_id == "1795.1"
    assert session.sent == [("Hangup", [("Channel", "PJSIP/operator-00000001"), ("Cause", "16")], None)]
    assert [e.event for e in await bus.read("commands", after=FROM_START)] == [result]


async def test_given_an_unknown_call_when_hangup_is_commanded_then_the_result_says_so_and_nothing_is_sent() -> None:
    session = FakeSession()
    runner, _, _ = _runner(session)
    result = await runner.answer(ev.HangupCommand(command_id="c1", node="pbx1", call_id="nope"))
    assert not result.ok and "nope" in (result.error or "") and session.sent == []


async def test_given_no_pbx_link_when_a_command_comes_then_it_fails_with_a_clear_error() -> None:
    runner, _, _ = _runner(None)
    result = await runner.answer(ev.PauseCommand(command_id="c1", node="pbx1", interface="PJSIP/1001", paused=True))
    assert (result.ok, result.error) == (False, "PBX not connected")


async def test_given_a_blind_transfer_when_asterisk_accepts_then_redirect_is_sent_and_the_transfer_recorded() -> None:
    session = FakeSession()
    model = _live_call()
    runner, _, published = _runner(session, model)
    result = await runner.answer(ev.BlindTransferCommand(command_id="c2", node="pbx1", call_id="1795.1",
                                                         context="from-internal", exten="1002"))
    assert result.ok
    assert session.sent[0][:2] == ("Redirect", [("Channel", "PJSIP/operator-00000001"), ("Context", "from-internal"),
                                                ("Exten", "1002"), ("Priority", "1")])
    assert [(e.type, e.kind, e.target) for e in published] == [("call.transferred", "blind", "1002@from-internal")]
    model.handle(ami.Hangup(channel=AGENT.channel, uniqueid="1795.2", linkedid="1795.1", cause=16), AT)
    ended = model.handle(ami.Hangup(channel=CALLER.channel, uniqueid="1795.1", linkedid="1795.1", cause=16), AT)
    assert [t.target for t in ended[0].transfers] == ["1002@from-internal"]  # type: ignore[attr-defined]


async def test_given_asterisk_refuses_a_redirect_then_the_error_is_asterisks_and_no_transfer_is_recorded() -> None:
    session = FakeSession(refuse={"Redirect": "Channel does not exist: PJSIP/operator-00000001"})
    runner, _, published = _runner(session, _live_call())
    result = await runner.answer(ev.BlindTransferCommand(command_id="c2", node="pbx1", call_id="1795.1",
                                                         context="from-internal", exten="1002"))
    assert result.error == "Redirect: Channel does not exist: PJSIP/operator-00000001" and published == []


async def test_given_an_attended_transfer_then_atxfer_is_sent_on_the_agents_own_channel() -> None:
    session = FakeSession()
    runner, _, _ = _runner(session, _live_call())
    ok = await runner.answer(ev.AttendedTransferCommand(command_id="c3", node="pbx1", call_id="1795.1",
                                                        agent_interface="PJSIP/1001", context="from-internal",
                                                        exten="1003"))
    wrong = await runner.answer(ev.AttendedTransferCommand(command_id="c4", node="pbx1", call_id="1795.1",
                                                           agent_interface="PJSIP/1009", context="from-internal",
                                                           exten="1003"))
    assert ok.ok and session.sent == [("Atxfer", [("Channel", "PJSIP/1001-00000002"), ("Exten", "1003"),
                                                  ("Context", "from-internal")], None)]
    assert not wrong.ok and "PJSIP/1009" in (wrong.error or "")


async def test_given_an_originate_then_its_action_id_ties_the_pbx_outcome_back_to_the_command() -> None:
    session = FakeSession()
    model = CallModel()
    runner, _, _ = _runner(session, model)
    command = ev.OriginateCommand(command_id="dial-1", node="pbx1", channel="PJSIP/1001", context="from-internal",
                                  exten="913800000001", caller_id="95500", timeout_seconds=20,
                                  variables={"LIANLUO_LEAD": "42"})
    assert (await runner.answer(command)).ok
    action, headers, action_id = session.sent[0]
    assert action == "Originate" and action_id
    assert headers == [("Channel", "PJSIP/1001"), ("Context", "from-internal"), ("Exten", "913800000001"),
                       ("Priority", "1"), ("Timeout", "20000"), ("Async", "true"), ("CallerID", "95500"),
                       ("Variable", "LIANLUO_LEAD=42")]
    offered = model.handle(ami.Newchannel(channel="PJSIP/1001-0000000a", uniqueid="9.1", linkedid="9.1"), AT)
    assert offered[0].command_id == "dial-1" and offered[0].direction == "outbound"  # type: ignore[attr-defined]
    outcome = model.handle(ami.OriginateResponse(action_id=action_id, response="Success", reason=4,
                                                 channel="PJSIP/1001-0000000a", uniqueid="9.1"), AT)
    assert [(e.command_id, e.success, e.call_id) for e in outcome] == [("dial-1", True, "9.1")]  # type: ignore[attr-defined]


async def test_given_a_refused_originate_then_no_later_channel_is_taken_for_it() -> None:
    session = FakeSession(refuse={"Originate": "Originate failed"})
    model = CallModel()
    runner, _, _ = _runner(session, model)
    result = await runner.answer(ev.OriginateCommand(command_id="dial-2", node="pbx1", channel="PJSIP/1001",
                                                     context="from-internal", exten="9138"))
    assert not result.ok
    offered = model.handle(ami.Newchannel(channel="PJSIP/1001-0000000b", uniqueid="9.2", linkedid="9.2"), AT)
    assert offered[0].command_id is None and offered[0].direction == "inbound"  # type: ignore[attr-defined]


async def test_given_a_header_with_a_line_break_then_the_command_fails_and_nothing_is_injected() -> None:
    session = FakeSession()
    runner, _, _ = _runner(session)
    result = await runner.answer(ev.PauseCommand(command_id="c5", node="pbx1", interface="PJSIP/1001", paused=True,
                                                 reason="小休\r\nAction: Originate"))
    assert not result.ok and session.sent == []


async def test_given_an_agent_acting_on_a_call_they_are_not_on_then_the_node_refuses() -> None:
    session = FakeSession()
    runner, _, _ = _runner(session, _live_call())
    theirs = await runner.answer(ev.HangupCommand(command_id="h1", node="pbx1", call_id="1795.1",
                                                  agent_interface="PJSIP/1001"))
    not_theirs = await runner.answer(ev.RecordingCommand(command_id="h2", node="pbx1", call_id="1795.1",
                                                         agent_interface="PJSIP/1002", start=True))
    assert theirs.ok and not not_theirs.ok and len(session.sent) == 1


@pytest.mark.parametrize(("command", "action", "headers"), [
    (ev.PauseCommand(command_id="p", node="pbx1", interface="PJSIP/1001", paused=True, reason="培训"),
     "QueuePause", [("Interface", "PJSIP/1001"), ("Paused", "true"), ("Reason", "培训")]),
    (ev.PauseCommand(command_id="p", node="pbx1", interface="PJSIP/1001", paused=False, queue="claims"),
     "QueuePause", [("Interface", "PJSIP/1001"), ("Paused", "false"), ("Queue", "claims")]),
    (ev.QueueAddCommand(command_id="a", node="pbx1", interface="PJSIP/1001", queue="claims", member_name="张三",
                        penalty=2),
     "QueueAdd", [("Queue", "claims"), ("Interface", "PJSIP/1001"), ("StateInterface", "PJSIP/1001"),
                  ("Penalty", "2"), ("Paused", "true"), ("MemberName", "张三")]),
    (ev.QueueRemoveCommand(command_id="r", node="pbx1", interface="PJSIP/1001", queue="claims"),
     "QueueRemove", [("Queue", "claims"), ("Interface", "PJSIP/1001")]),
])
async def test_given_an_agent_command_then_the_matching_queue_action_is_sent(command, action, headers) -> None:  # type: ignore[no-untyped-def]
    session = FakeSession()
    runner, _, _ = _runner(session)
    assert (await runner.answer(command)).ok
    assert session.sent == [(action, headers, None)]


async def test_given_queue_membership_already_as_asked_then_the_command_succeeds_but_other_errors_do_not() -> None:
    runner, _, _ = _runner(FakeSession(refuse={"QueueAdd": "Unable to add interface: Already there",
                                               "QueueRemove": "Unable to remove interface: Not there"}))
    add = ev.QueueAddCommand(command_id="a", node="pbx1", interface="PJSIP/1001", queue="claims")
    remove = ev.QueueRemoveCommand(command_id="r", node="pbx1", interface="PJSIP/1001", queue="claims")
    assert (await runner.answer(add)).ok and (await runner.answer(remove)).ok
    runner, _, _ = _runner(FakeSession(refuse={"QueueAdd": "Unable to add interface to queue: No such queue"}))
    assert (await runner.answer(add)).error == "QueueAdd: Unable to add interface to queue: No such queue"


async def test_given_recording_commands_then_mixmonitor_starts_and_stops_on_the_callers_channel() -> None:
    session = FakeSession()
    runner, _, _ = _runner(session, _live_call())
    await runner.answer(ev.RecordingCommand(command_id="r1", node="pbx1", call_id="1795.1", start=True))
    await runner.answer(ev.RecordingCommand(command_id="r2", node="pbx1", call_id="1795.1", start=False))
    assert session.sent == [
        ("MixMonitor", [("Channel", "PJSIP/operator-00000001"), ("File", "call-1795.1.wav"), ("Options", "b")], None),
        ("StopMixMonitor", [("Channel", "PJSIP/operator-00000001")], None)]


async def test_given_commands_on_the_bus_then_only_this_nodes_are_carried_out_each_with_one_result() -> None:
    session = FakeSession()
    runner, bus, _ = _runner(session)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(runner.run(stop, ready))
    await ready.wait()
    await asyncio.sleep(0)
    for node, cid in (("pbx2", "other"), ("pbx1", "mine")):
        await bus.publish(ev.PauseCommand(command_id=cid, node=node, interface="PJSIP/1001", paused=True))
    for _ in range(200):
        results = [e.event for e in await bus.read("commands", after=FROM_START) if e.event.type == "command.result"]
        if results:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert [r.command_id for r in results] == ["mine"] and len(session.sent) == 1  # type: ignore[attr-defined]


# --- after-call work


def _member(interface: str, paused: bool, reason: str = "") -> ami.QueueMemberStatus:
    return ami.QueueMemberStatus(queue="claims", interface=interface, member_name=interface, paused=paused,
                                 paused_reason=reason, status=1)


def _wrapup(seconds: float, *, paused: bool = False, reason: str = "") -> tuple[AgentModel, FakeSession, WrapUp]:
    """Agent PJSIP/1001 in one queue, as Asterisk last reported it, and the wrap-up timer under test."""
    agents = AgentModel()
    agents.handle(_member("PJSIP/1001", paused, reason))
    session = FakeSession()
    return agents, session, WrapUp(agents, seconds, lambda: session)  # type: ignore[arg-type,return-value]


async def test_given_a_ready_agent_when_a_call_ends_then_wrapup_pauses_and_later_unpauses_them() -> None:
    agents, session, wrapup = _wrapup(0.05)
    wrapup.call_ended("PJSIP/1001")
    await asyncio.sleep(0.01)
    assert session.sent == [("QueuePause", [("Interface", "PJSIP/1001"), ("Paused", "true"),
                                            ("Reason", WRAPUP_REASON)], None)]
    agents.handle(_member("PJSIP/1001", True, WRAPUP_REASON))  # what Asterisk then reports
    await asyncio.sleep(0.1)
    assert session.sent[-1] == ("QueuePause", [("Interface", "PJSIP/1001"), ("Paused", "false")], None)


async def test_given_an_agent_who_chose_another_pause_during_wrapup_then_the_timer_leaves_them_paused() -> None:
    agents, session, wrapup = _wrapup(0.05)
    wrapup.call_ended("PJSIP/1001")
    await asyncio.sleep(0.01)
    agents.handle(_member("PJSIP/1001", True, "小休"))
    await asyncio.sleep(0.1)
    assert len(session.sent) == 1


async def test_given_an_agent_already_paused_when_their_call_ends_then_no_wrapup() -> None:
    _, session, wrapup = _wrapup(0.05, paused=True, reason="示忙")
    wrapup.call_ended("PJSIP/1001")
    wrapup.call_ended("PJSIP/1999")  # not a queue agent at all
    await asyncio.sleep(0.1)
    assert session.sent == []
    await wrapup.close()


async def test_given_a_reconnect_finds_an_agent_in_wrapup_then_a_new_timer_makes_them_ready() -> None:
    _, session, wrapup = _wrapup(0.02, paused=True, reason=WRAPUP_REASON)
    wrapup.resumed()
    await asyncio.sleep(0.08)
    assert session.sent == [("QueuePause", [("Interface", "PJSIP/1001"), ("Paused", "false")], None)]


async def test_given_wrapup_disabled_then_nothing_is_sent() -> None:
    _, session, wrapup = _wrapup(0)
    wrapup.call_ended("PJSIP/1001")
    await asyncio.sleep(0.02)
    assert session.sent == []
