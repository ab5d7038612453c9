"""Named scenarios: small scripts of steps against a running simulator. Add one by adding a function."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.simulator import PbxSimulator, Scenario


async def _until_idle(sim: PbxSimulator, settle: float = 0.5) -> None:
    await sim.clock.sleep(settle)
    while sim.pbx.channels or sim.dialplan.tasks:
        await sim.clock.sleep(0.25)


async def inbound_ivr_queue_answered(sim: PbxSimulator, number: str = "13912345678") -> None:
    await sim.originate("Local/answered@caller-sim", "ivr-inbound", "s", caller_id=(number, "Customer"),
                        variables=[("CUSTOMER_NUM", number)])
    await _until_idle(sim)


async def inbound_queue_abandon(sim: PbxSimulator, number: str = "13987654321") -> None:
    members = [m.interface for q in sim.queues.queues.values() for m in q.members.values()]
    for interface in members:
        sim.queues.pause(interface, True, "abandon-test")
    await sim.originate("Local/abandon@caller-sim", "ivr-inbound", "s", caller_id=(number, "Customer"),
                        variables=[("CUSTOMER_NUM", number)])
    await _until_idle(sim)
    for interface in members:
        sim.queues.pause(interface, False)


def _outbound(behaviour: str, number: str, timeout: float = 30.0) -> Scenario:
    async def scenario(sim: PbxSimulator, agent: str = "1001") -> None:
        await sim.originate(f"Local/{number}@callee-{behaviour}", "outbound-agent", agent,
                            caller_id=("4008001234", "Campaign"), timeout=timeout,
                            variables=[("CAMPAIGN_ID", "camp-42"), ("LEAD_ID", "lead-7")])
        await _until_idle(sim)
    return scenario


async def inbound(sim: PbxSimulator, caller: str = "13912345678", keys: tuple[str, ...] = ("1",),
                  stay: float = 20.0) -> None:
    """Production mode: a trunk call through the IVR into a queue, answered by a PJSIP agent."""
    await sim.inbound_call(caller, keys=keys, stay=stay)
    await _until_idle(sim)


async def agent_pause(sim: PbxSimulator, interface: str = "PJSIP/1001", reason: str = "lunch",
                      seconds: float = 5.0) -> None:
    sim.queues.pause(interface, True, reason)
    await sim.clock.sleep(seconds)
    sim.queues.pause(interface, False)


async def restart(sim: PbxSimulator) -> None:
    await sim.restart()


SCENARIOS: dict[str, Scenario] = {
    "inbound_ivr_queue_answered": inbound_ivr_queue_answered,
    "inbound_queue_abandon": inbound_queue_abandon,
    "outbound_answered": _outbound("answer", "13800000001"),
    "outbound_busy": _outbound("busy", "13800000002"),
    "outbound_noanswer": _outbound("noanswer", "13800000003", 10.0),
    "outbound_congestion": _outbound("congestion", "13800000004"),
    "inbound": inbound,
    "agent_pause": agent_pause,
    "restart": restart,
}

