"""After-call work (话后处理): pause an agent when a call ends, make them ready again after a while.

Asterisk's own ``wrapuptime`` only delays the next queue call and tells nobody; the platform wants the
agent to be visibly "not ready, 话后处理" (the console shows it, occupancy reports count it), so the
bridge pauses the member with that reason and unpauses it when the configured time is up.

Rules a contact center expects:
- only an agent who was ready when the call ended gets wrap-up: one already paused (小休, making
  outbound calls while not ready) stays as they chose;
- the agent may end wrap-up early (unpause from the console), or choose another pause meanwhile; the
  timer then leaves them alone, since it only unpauses a member still paused for 话后处理;
- after a reconnect, agents found paused for 话后处理 get a fresh timer, so nobody stays stuck in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cti.agents.model import AgentModel
from cti.ami.client import AmiError, AmiSession

log = logging.getLogger("lianluo.cti.wrapup")

WRAPUP_REASON = "话后处理"


class WrapUp:
    def __init__(self, agents: AgentModel, seconds: float, session: Callable[[], AmiSession | None]) -> None:
        self.agents = agents
        self.seconds = seconds
        self._session = session
        self._timers: dict[str, asyncio.Task[None]] = {}

    def call_ended(self, interface: str | None) -> None:
        """The agent on ``interface`` has just finished a call."""
        if self.seconds <= 0 or not interface:
            return
        agent = self.agents.agents.get(interface)
        if agent is None or not agent.queues or any(m.paused for m in agent.queues.values()):
            return
        self._start(interface, pause=True)

    def resumed(self) -> None:
        """After a resync: agents still paused for wrap-up get their timer again."""
        if self.seconds <= 0:
            return
        for interface, agent in self.agents.agents.items():
            if interface not in self._timers and self._in_wrapup(interface) and agent.queues:
                self._start(interface, pause=False)

    def _in_wrapup(self, interface: str) -> bool:
        agent = self.agents.agents.get(interface)
        return bool(agent and agent.queues and all(m.paused and m.reason == WRAPUP_REASON
                                                    for m in agent.queues.values()))

    def _start(self, interface: str, *, pause: bool) -> None:
        previous = self._timers.pop(interface, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.create_task(self._run(interface, pause), name=f"wrapup-{interface}")
        self._timers[interface] = task
        task.add_done_callback(lambda t: self._timers.pop(interface, None) if self._timers.get(interface) is t else None)

    async def _run(self, interface: str, pause: bool) -> None:
        try:
            if pause:
                await self._queue_pause(interface, True)
            await asyncio.sleep(self.seconds)
            if self._in_wrapup(interface):
                await self._queue_pause(interface, False)
        except AmiError as exc:  # PBX gone: the resync after the reconnect starts a new timer
            log.warning("wrap-up of %s interrupted: %s", interface, exc)

    async def _queue_pause(self, interface: str, paused: bool) -> None:
        session = self._session()
        if session is None:
            raise AmiError("PBX not connected")
        headers = [("Interface", interface), ("Paused", "true" if paused else "false")]
        await session.send("QueuePause", headers + ([("Reason", WRAPUP_REASON)] if paused else []))

    async def close(self) -> None:
        timers = list(self._timers.values())
        for task in timers:
            task.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
