"""Typed AMI events, checked against what the real traces contain."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cti.ami import events as ev
from cti.ami.frames import AmiMessage, iter_messages

TRACES = Path(__file__).parent / "data" / "asterisk-traces"


def _typed(scenario: str) -> list[ev.AmiEvent]:
    out = []
    for message in iter_messages((TRACES / f"{scenario}.ami.txt").read_bytes()):
        typed = ev.to_typed(message)
        if typed is not None:
            out.append(typed)
    return out


def test_given_every_trace_when_typing_events_then_each_modelled_event_converts_and_no_other() -> None:
    for path in TRACES.glob("*.ami.txt"):
        raw = Counter(m.event for m in iter_messages(path.read_bytes()) if m.event)
        typed = Counter(t.name for t in _typed(path.name.removesuffix(".ami.txt")))
        assert typed == Counter({name: n for name, n in raw.items() if name in ev.TYPED}), path.name


def test_given_answered_inbound_call_when_typed_then_causes_agents_and_links_are_read() -> None:
    events = _typed("inbound_ivr_queue_answered")
    hangups = [e for e in events if isinstance(e, ev.Hangup)]
    assert {e.cause for e in hangups} == {16, 26}
    elsewhere = [e for e in hangups if e.cause == 26]
    assert elsewhere and all("agent1002" in e.channel and e.cause_txt == "Answered elsewhere" for e in elsewhere)
    called = [e for e in events if isinstance(e, ev.AgentCalled)]
    assert {e.member_name for e in called} == {"Agent 1001", "Agent 1002"}
    assert all(e.queue == "complaints" and e.dest_channel and e.dest_channel.startswith("Local/agent") for e in called)
    [connect] = [e for e in events if isinstance(e, ev.AgentConnect)]
    assert connect.member_name == "Agent 1001" and connect.ring_time is not None
    [complete] = [e for e in events if isinstance(e, ev.AgentComplete)]
    assert complete.reason == "agent" and complete.talk_time is not None
    ivr = {e.variable: e.value for e in events if isinstance(e, ev.VarSet) and e.variable.startswith("IVR_")}
    assert ivr == {"IVR_CHOICE": "1", "IVR_POLICY": "8800123456"}
    linked = {e.linkedid for e in events if isinstance(e, ev.ChannelEvent) and e.linkedid}
    assert len(linked) == 1  # the whole call, agents' legs included, shares one Linkedid


def test_given_failed_originates_when_typed_then_reason_and_unknown_uniqueid_come_through() -> None:
    [busy] = [e for e in _typed("outbound_busy") if isinstance(e, ev.OriginateResponse)]
    assert (busy.response, busy.reason, busy.uniqueid) == ("Failure", 5, "<unknown>")
    assert busy.action_id and busy.channel == "Local/13800000002@callee-busy"
    [noanswer] = [e for e in _typed("outbound_noanswer") if isinstance(e, ev.OriginateResponse)]
    assert noanswer.reason == 3
    [ok] = [e for e in _typed("outbound_answered") if isinstance(e, ev.OriginateResponse)]
    assert ok.response == "Success" and ok.reason == 4 and ok.uniqueid != "<unknown>"


def test_given_abandon_and_pauses_when_typed_then_hold_time_and_pause_reasons_are_read() -> None:
    events = _typed("inbound_queue_abandon")
    [abandon] = [e for e in events if isinstance(e, ev.QueueCallerAbandon)]
    assert (abandon.queue, abandon.position, abandon.hold_time) == ("complaints", 1, 7)
    pauses = [e for e in events if isinstance(e, ev.QueueMemberPause)]
    assert [p.paused for p in pauses] == [True, True, False, False]
    assert all(p.interface.startswith("Local/agent") for p in pauses)


def test_given_restart_traces_when_typed_then_shutdown_and_fresh_uptime_are_seen() -> None:
    [shutdown] = [e for e in _typed("asterisk_restart") if isinstance(e, ev.Shutdown)]
    assert shutdown.restart is True and shutdown.shutdown == "Cleanly"
    [booted] = [e for e in _typed("asterisk_restart.reconnect") if isinstance(e, ev.FullyBooted)]
    assert booted.uptime == 0


def test_given_events_the_models_ignore_when_typed_then_none() -> None:
    for name in ("Newexten", "DeviceStateChange", "DTMFBegin", "SuccessfulAuth", "NoSuchEvent"):
        assert ev.to_typed(AmiMessage({"Event": name, "Channel": "x"})) is None
    assert ev.to_typed(AmiMessage({"Response": "Success"})) is None


@given(st.sampled_from(sorted(ev.TYPED)), st.dictionaries(st.sampled_from(
    ["Channel", "Uniqueid", "Linkedid", "Cause", "Position", "HoldTime", "Paused", "Reason", "Status", "Uptime",
     "Restart", "ChannelState", "Queue", "Interface", "Variable", "Value"]), st.text(max_size=12), max_size=8))
def test_given_any_header_values_when_typed_then_no_error_and_bad_numbers_become_none(name: str, headers) -> None:  # type: ignore[no-untyped-def]
    typed = ev.to_typed(AmiMessage({"Event": name, **headers}))
    assert typed is not None and typed.name == name
    for attr in ("cause", "position", "hold_time", "status", "uptime", "state"):
        value = getattr(typed, attr, None)
        assert value is None or isinstance(value, int)
