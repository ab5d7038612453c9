"""Queue membership over AMI (static and dynamic members, app_queue's messages) and the demo traffic."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from cti.ami.frames import iter_messages
from cti.simulator import AgentSpec, PbxSimulator, SimConfig
from tests.sim_helpers import TRACES, action, exchange

LOGIN = action("Login", Username="cti", Secret="cti-secret")


def _trace_headers(event: str) -> list[str]:
    message = next(m for m in iter_messages((TRACES / "ami_actions.ami.txt").read_bytes()) if m.event == event)
    return list(message.fields)


async def test_given_phone_not_static_when_added_paused_then_unpaused_and_removed_then_events_like_traces(
        tmp_path: Path) -> None:
    sim = PbxSimulator(SimConfig(speed=20, agi=None, recordings=tmp_path, agents=[
        AgentSpec("PJSIP/1001", "Agent 1001"), AgentSpec("PJSIP/1005", "Agent 1005", static=False)]))
    port = await sim.start()
    try:
        got = await exchange(port, [
            LOGIN,
            action("QueueStatus", ActionID="qs", Queue="complaints"),
            action("QueueRemove", ActionID="static", Queue="complaints", Interface="PJSIP/1001"),
            action("QueueAdd", ActionID="add", Queue="complaints", Interface="PJSIP/1005",
                   StateInterface="PJSIP/1005", Penalty="0", Paused="true", MemberName="Agent 1005"),
            action("QueueAdd", ActionID="again", Queue="complaints", Interface="PJSIP/1005"),
            action("QueuePause", ActionID="ready", Interface="PJSIP/1005", Paused="false", Queue="complaints"),
            action("QueueRemove", ActionID="remove", Queue="complaints", Interface="PJSIP/1005"),
            action("QueueRemove", ActionID="gone", Queue="complaints", Interface="PJSIP/1005"),
            action("QueueRemove", ActionID="noqueue", Queue="nosuchqueue", Interface="PJSIP/1005"),
        ], wait=0.03)
    finally:
        await sim.stop()
    messages = list(iter_messages(got))
    replies = {m.action_id: m.get("Message") for m in messages if m.response}
    assert [m.get("Location") for m in messages if m.event == "QueueMember"] == ["PJSIP/1001"]  # 1005: a phone only
    assert replies["static"] == "Member not dynamic"  # app_queue's answer for a queues.conf member
    assert replies["add"] == "Added interface to queue"
    assert replies["again"] == "Unable to add interface: Already there"
    assert replies["ready"] == "Interface unpaused successfully"
    assert replies["remove"] == "Removed interface from queue"
    assert replies["gone"] == "Unable to remove interface: Not there"
    assert replies["noqueue"] == "Unable to remove interface from queue: No such queue"
    added, paused, removed = (next(m for m in messages if m.event == name)
                              for name in ("QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"))
    for message in (added, paused, removed):
        assert list(message.fields) == _trace_headers(message.event)
    assert (added.get("Membership"), added.get("Paused"), added.get("MemberName")) == ("dynamic", "1", "Agent 1005")
    assert added.get("LastPause") != "0"
    assert (paused.get("Paused"), paused.get("PausedReason")) == ("0", "")
    assert removed.get("Interface") == "PJSIP/1005"


async def test_given_traffic_at_high_rate_then_callers_from_list_reach_only_ready_members(tmp_path: Path) -> None:
    random.seed(7)
    phones = [AgentSpec(f"PJSIP/100{n}", f"Agent 100{n}", 0.5, 1.0) for n in (1, 2, 3)]
    sim = PbxSimulator(SimConfig(speed=50, agi=None, recordings=tmp_path,
                                 agents=[*phones, AgentSpec("PJSIP/1004", "Agent 1004", 0.5, 1.0, static=False)]))
    seen: list[tuple[str, dict[str, str]]] = []
    sim.pbx.listeners.append(lambda name, fields: seen.append((name, dict(fields))))
    sim.queues.pause("PJSIP/1002", True, "lunch")
    callers = ["13900000001", "13900000002", "13900000003"]
    started = time.monotonic()
    sim.start_traffic(calls_per_minute=20, callers=callers, keys=("1",), stay=(5.0, 10.0))
    await asyncio.sleep(1.5)
    await sim.stop()
    assert time.monotonic() - started < 2.0

    calls = [f for name, f in seen if name == "Newchannel" and f["Channel"].startswith("PJSIP/operator-")]
    assert len(calls) >= 5
    assert {f["CallerIDNum"] for f in calls} <= set(callers)
    joins = [f for name, f in seen if name == "QueueCallerJoin"]
    assert joins and {f["Queue"] for f in joins} == {"general-service"}  # no IVR: the fallback queue
    assert {f["CallerIDNum"] for f in joins} <= set(callers)
    rung = {f["Interface"] for name, f in seen if name == "AgentCalled"}
    assert rung and rung <= {"PJSIP/1001", "PJSIP/1003"}  # never the paused member, never a non-member
    assert any(name == "AgentConnect" for name, _ in seen)
    phones_used = {f["Channel"].rsplit("-", 1)[0] for name, f in seen
                   if name == "Newchannel" and not f["Channel"].startswith("PJSIP/operator-")}
    assert phones_used <= {"PJSIP/1001", "PJSIP/1003"}
