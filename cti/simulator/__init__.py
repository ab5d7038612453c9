"""A simulated Asterisk 22 PBX for tests and the demo: AMI server, dialplan, queues, FastAGI client.

Speaks AMI byte-for-byte like the recordings in tests/data/asterisk-traces (banner, login, list
actions, quirks), driven by a model of channels, bridges, queues and members, not by pasted bytes.

    sim = PbxSimulator(SimConfig(port=0, speed=50, agi="agi://127.0.0.1:4573/default",
                                 agents=[AgentSpec("PJSIP/1001", "Agent 1001", answer_after=2, talk_time=(20, 60))]))
    port = await sim.start()                  # loopback only; ValueError for any other host
    await sim.run_scenario("inbound", caller="13912345678", keys=("1",))
    sim.start_traffic(calls_per_minute=6, callers=["13912345678", "13987654321"])
    await sim.restart()                       # Shutdown event, drop, refuse, back with Uptime 0
    await sim.stop()

Modes: ``pjsip`` (production dialplan: trunk ``PJSIP/operator-…`` callers recorded with MixMonitor into
``SimConfig.recordings``, ``PJSIP/10XX`` agents, IVR_QUEUE from the AGI, fallback queue ``general-service``,
``[transfer]`` to a colleague or a queue) and ``trace-local`` (``SimConfig.trace_local()``: the Local-channel
setup that recorded the traces, queue ``complaints``, ``Local/agent1001@agents``). ``AgentSpec(static=False)``
is a phone that joins queues only by QueueAdd. Atxfer runs an attended transfer (``transfers``). An Originate
of ``PJSIP/10XX`` is a click-to-call, and ``9<number>`` goes out through the trunk to a simulated outside party
(``outbound``; ``SimConfig.busy_numbers``/``unanswered_numbers``). Phones act on NOTIFY ``Event: hold``/``talk``
(AMI PJSIPNotify, or the console's hold features keyed with PlayDTMF ``Receive``: ``features``).
All waits are simulated seconds divided by ``speed``; reported times (Uptime, durations) stay simulated.
``cti.simulator.replay.ReplayServer`` serves a recorded ``.ami.jsonl`` verbatim.
"""

from cti.simulator.config import AgentSpec, QueueSpec, SimConfig
from cti.simulator.simulator import PbxSimulator

__all__ = ["AgentSpec", "PbxSimulator", "QueueSpec", "SimConfig"]
