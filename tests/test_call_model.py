"""The call model on real recorded traffic: golden platform events, robustness, no leaks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami import events as ami
from cti.ami.frames import AmiMessage, iter_messages
from cti.calls.model import CallModel, interface_of
from tests.cti_replay import TRACES, as_golden, replay

GOLDEN = Path(__file__).parent / "data" / "golden"
CALL_TRACES = ["inbound_ivr_queue_answered", "inbound_queue_abandon", "outbound_answered", "outbound_busy",
               "outbound_noanswer"]


@pytest.mark.parametrize("scenario", CALL_TRACES)
def test_given_recorded_call_when_replayed_then_platform_events_match_the_golden_file(scenario: str) -> None:
    expected = json.loads((GOLDEN / f"{scenario}.calls.json").read_text())
    assert as_golden(replay(scenario)) == expected


@pytest.mark.parametrize("scenario", CALL_TRACES)
def test_given_recorded_call_when_it_ends_then_the_model_forgets_it(scenario: str) -> None:
    model = CallModel()
    events = replay(scenario, model)
    assert events[0].type == "call.offered" and events[-1].type == "call.ended"
    assert model.calls == {} and model.channels == {}


def test_given_answered_inbound_call_when_replayed_then_screen_pop_carries_ivr_choices_in_order() -> None:
    events = replay("inbound_ivr_queue_answered")
    types = [e.type for e in events]
    assert types == ["call.offered", "call.queued", "call.agent_ringing", "call.agent_ringing", "call.answered",
                     "call.ended"]
    ringing = [e for e in events if e.type == "call.agent_ringing"]
    assert {e.agent_interface for e in ringing} == {"Local/agent1001@agents", "Local/agent1002@agents"}
    assert all(e.ivr == {"IVR_CHOICE": "1", "IVR_POLICY": "8800123456"} and e.caller == "13912345678"
               for e in ringing)
    answered = events[4]
    assert answered.agent_name == "Agent 1001" and answered.wait_seconds is not None


def test_given_failed_originates_when_replayed_then_result_names_command_call_and_reason() -> None:
    busy = {e.type: e for e in replay("outbound_busy")}
    assert busy["call.originate_result"].reason_text == "busy"
    assert busy["call.originate_result"].call_id == busy["call.offered"].call_id
    assert busy["call.ended"].hangup_cause == 17 and not busy["call.ended"].answered
    noanswer = {e.type: e for e in replay("outbound_noanswer")}
    assert noanswer["call.originate_result"].reason == 3
    assert noanswer["call.ended"].hangup_cause == 19


def test_given_all_traces_in_one_stream_when_replayed_then_each_call_gets_its_own_events() -> None:
    model = CallModel()
    per_scenario = {sc: replay(sc, model) for sc in CALL_TRACES}
    for scenario, events in per_scenario.items():
        assert as_golden(events) == json.loads((GOLDEN / f"{scenario}.calls.json").read_text())
    assert model.calls == {}


def test_given_a_stream_joined_mid_call_when_replayed_then_unknown_channels_are_skipped_quietly() -> None:
    messages = list(iter_messages((TRACES / "inbound_ivr_queue_answered.ami.txt").read_bytes()))
    model = CallModel()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    out = []
    for message in messages[len(messages) // 2:]:  # the bridge connected while the call was going on
        typed = ami.to_typed(message)
        if typed is not None:
            out.extend(model.handle(typed, at))
    assert out == [] and model.calls == {}


def test_given_repeated_agent_called_when_handled_then_one_ringing_event() -> None:
    model = CallModel()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    model.handle(ami.Newchannel(channel="PJSIP/trunk-00000001", uniqueid="1.1", linkedid="1.1",
                                caller_num="13900001111", exten="95500"), at)
    called = ami.AgentCalled(channel="PJSIP/trunk-00000001", uniqueid="1.1", linkedid="1.1", queue="complaints",
                             interface="PJSIP/1001", member_name="坐席1001", dest_channel="PJSIP/1001-00000002")
    first = model.handle(called, at)
    assert [e.type for e in first] == ["call.agent_ringing"] and first[0].dialled == "95500"
    assert model.handle(called, at) == []


def test_given_hold_and_unhold_when_handled_then_one_event_each_even_if_repeated() -> None:
    model = CallModel()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    model.handle(ami.Newchannel(channel="PJSIP/trunk-1", uniqueid="2.1", linkedid="2.1"), at)
    hold = ami.Hold(channel="PJSIP/trunk-1", uniqueid="2.1", linkedid="2.1")
    assert [e.type for e in model.handle(hold, at) + model.handle(hold, at)] == ["call.held"]
    unhold = ami.Unhold(channel="PJSIP/trunk-1", uniqueid="2.1", linkedid="2.1")
    assert [e.type for e in model.handle(unhold, at) + model.handle(unhold, at)] == ["call.resumed"]


@pytest.mark.parametrize(("name", "interface"), [
    ("PJSIP/1001-0000001a", "PJSIP/1001"), ("Local/agent1001@agents-00000002;1", "Local/agent1001@agents"),
    ("SIP/trunk", "SIP/trunk"), ("PJSIP/cn-unicom-0000a1b2", "PJSIP/cn-unicom"),
])
def test_given_channel_names_when_reduced_then_the_device_interface(name: str, interface: str) -> None:
    assert interface_of(name) == interface


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(ami.TYPED)), st.dictionaries(st.sampled_from(
    ["Channel", "Uniqueid", "Linkedid", "Queue", "Interface", "DestChannel", "Cause", "DialStatus", "ActionID",
     "Response", "Reason", "Variable", "Value", "Position", "TransfererLinkedid", "Result"]),
    st.sampled_from(["", "1.1", "1.2", "2.1", "x", "ANSWER", "Success", "16", "IVR_X", "PJSIP/1-1", "q"]),
    max_size=8)), max_size=40))
def test_given_random_event_sequences_when_handled_then_no_error(sequence) -> None:  # type: ignore[no-untyped-def]
    model = CallModel()
    model.expect_originate("1.1", "cmd-1", "PJSIP/1")
    at = datetime(2026, 11, 23, tzinfo=UTC)
    for name, headers in sequence:
        typed = ami.to_typed(AmiMessage({"Event": name, **headers}))
        assert typed is not None
        for event in model.handle(typed, at):
            assert event.type.startswith("call.")
