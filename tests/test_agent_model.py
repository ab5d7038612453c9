"""Agent state from what Asterisk reports, on the recorded traces and on production-like channels."""

from __future__ import annotations

from pathlib import Path

from cti.agents.model import AgentModel
from cti.ami import events as ami
from cti.ami.frames import iter_messages

TRACES = Path(__file__).parent / "data" / "asterisk-traces"


def _states(scenario: str, model: AgentModel | None = None) -> list[tuple[str, str, str | None]]:
    model = model or AgentModel()
    out = []
    for message in iter_messages((TRACES / f"{scenario}.ami.txt").read_bytes()):
        typed = ami.to_typed(message)
        if typed is None or message.get("EventList") is not None:  # list items belong to resync
            continue
        out += [(e.interface.split("/")[1].split("@")[0], e.state, e.reason) for e in model.handle(typed)]
    return out


def test_given_ringall_call_when_replayed_then_both_ring_one_answers_and_both_end_ready() -> None:
    assert _states("inbound_ivr_queue_answered") == [
        ("agent1002", "ringing", None), ("agent1001", "ringing", None),
        ("agent1002", "busy", None), ("agent1002", "ready", None),  # Local members say "in use" a moment longer
        ("agent1001", "on_call", None), ("agent1001", "busy", None), ("agent1001", "ready", None),
    ]


def test_given_pause_from_another_tool_when_replayed_then_not_ready_with_its_reason_then_ready() -> None:
    assert _states("inbound_queue_abandon") == [
        ("agent1001", "not_ready", "abandon-test"), ("agent1002", "not_ready", "abandon-test"),
        ("agent1001", "ready", None), ("agent1002", "ready", None),
    ]


def test_given_queue_add_and_remove_when_replayed_then_logged_in_then_out() -> None:
    states = _states("ami_actions")
    assert ("agent1001", "not_ready", "lunch") in states
    assert [s for s in states if s[0] == "agent1003"] == [("agent1003", "ready", None), ("agent1003", "logged_out", None)]


def test_given_outbound_call_outside_the_queue_when_replayed_then_busy_then_ready() -> None:
    assert _states("outbound_answered") == [("agent1001", "busy", None), ("agent1001", "ready", None)]


def test_given_agent_paused_in_only_some_queues_when_derived_then_still_ready() -> None:
    model = AgentModel()
    for queue, paused in (("complaints", True), ("claims", False)):
        model.handle(ami.QueueMemberAdded(queue=queue, interface="PJSIP/1001", member_name="坐席1001", status=1,
                                          paused=paused, paused_reason="小休" if paused else None))
    assert model.agents["PJSIP/1001"].derived() == ("ready", None)
    out = model.handle(ami.QueueMemberPause(queue="claims", interface="PJSIP/1001", status=1, paused=True,
                                            paused_reason="小休"))
    assert [(e.state, e.reason, e.queues) for e in out] == [("not_ready", "小休", ("claims", "complaints"))]


def test_given_unregistered_phone_when_status_arrives_then_offline() -> None:
    model = AgentModel()
    model.handle(ami.QueueMemberAdded(queue="complaints", interface="PJSIP/1002", status=1))
    out = model.handle(ami.QueueMemberStatus(queue="complaints", interface="PJSIP/1002", status=5))
    assert [e.state for e in out] == ["offline"]
    assert model.handle(ami.QueueMemberStatus(queue="complaints", interface="PJSIP/1002", status=5)) == []


def test_given_reconnect_when_queue_status_differs_then_only_changes_are_published() -> None:
    model = AgentModel()
    model.handle(ami.QueueMemberAdded(queue="complaints", interface="PJSIP/1001", status=1))
    model.handle(ami.QueueMemberAdded(queue="complaints", interface="PJSIP/1002", status=1))
    members = [ami.QueueMember(queue="complaints", interface="PJSIP/1001", status=1),  # unchanged
               ami.QueueMember(queue="complaints", interface="PJSIP/1003", status=1, paused=True, paused_reason="培训")]
    out = model.resync(members)
    assert sorted((e.interface, e.state, e.reason) for e in out) == [
        ("PJSIP/1002", "logged_out", None), ("PJSIP/1003", "not_ready", "培训")]
    assert model.resync(members) == []
