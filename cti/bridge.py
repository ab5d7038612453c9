"""``lianluo cti``: the bridge between one Asterisk node and the platform.

AMI events go, in arrival order, through the typed events and the call and agent models, and the
platform events that come out are published on the bus with this node's id. After every (re)login
the bridge first reconciles — ``CoreShowChannels`` for calls (those ended while it was away are
closed as lost during the outage, those begun meanwhile are offered), ``QueueStatus`` for agents —
and only then takes new events.

Beside the event path, the bridge carries out the platform's commands for this node (``cti.commands``)
and puts agents into after-call work when their calls end (``cti.agents.wrapup``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from backend.core.bus import Bus
from backend.core.clock import Clock
from backend.core.events import CallEnded, Event
from backend.core.settings import Settings
from cti.agents.model import AgentModel
from cti.agents.wrapup import WrapUp
from cti.ami import events as ami
from cti.ami.client import AmiClient, AmiSession, AmiSettings, backoff_delays
from cti.ami.frames import AmiMessage
from cti.calls.model import CallModel
from cti.commands import CommandRunner

log = logging.getLogger("lianluo.cti")


def ami_settings(settings: Settings) -> AmiSettings:
    return AmiSettings(host=settings.ami_host, port=settings.ami_port, username=settings.ami_username,
                       secret=settings.ami_secret.get_secret_value())


class CtiBridge:
    def __init__(self, settings: Settings, bus: Bus, clock: Clock, *, ami: AmiSettings | None = None,
                 record_latency: bool = False) -> None:
        self.node = settings.node_id
        self.bus = bus
        self.clock = clock
        self.model = CallModel()
        self.agents = AgentModel()
        self.client = AmiClient(ami or ami_settings(settings), on_event=self._on_event, on_connect=self._on_connect)
        self.commands = CommandRunner(self.node, bus, self.model, clock, lambda: self.client.session, self._publish)
        self.wrapup = WrapUp(self.agents, settings.wrapup_seconds, lambda: self.client.session)
        self.accepting_commands = asyncio.Event()
        self.published = 0
        # Seconds from the AMI bytes arriving on the socket to the platform event on the bus; kept only
        # when measuring (benchmarks, tests), so production's hot path does not grow a list.
        self.latencies: list[float] | None = [] if record_latency else None

    async def _publish(self, events: list, arrived: float | None = None) -> None:  # type: ignore[type-arg]
        for event in events:
            await self._publish_one(event)
            self.published += 1
            if arrived and self.latencies is not None:
                self.latencies.append(time.perf_counter() - arrived)

    async def _publish_one(self, event: Event) -> None:
        """Publish, waiting out a bus outage: the models have moved on, so dropping the event would lose
        it for good. Meanwhile AMI events queue up in arrival order and flow again once the bus is back."""
        delays = backoff_delays(0.1, 5.0)
        failures = 0
        while True:
            try:
                await self.bus.publish(event, node=self.node)
            except Exception as exc:  # noqa: BLE001 — whatever the bus raises, the answer is to wait and retry
                failures += 1
                delay = next(delays)
                if failures == 1 or failures % 10 == 0:
                    log.warning("bus unavailable (%s); holding %s, retry %d in %.1fs", exc, event.type, failures,
                                delay)
                await asyncio.sleep(delay)
                continue
            if failures:
                log.info("bus back after %d failed attempt(s); %s published", failures, event.type)
            return

    async def _on_event(self, message: AmiMessage) -> None:
        typed = ami.to_typed(message)
        if typed is not None:
            events = self.model.handle(typed, self.clock.now()) + self.agents.handle(typed)
            await self._publish(events, message.received_at)
            for event in events:
                if isinstance(event, CallEnded) and event.answered:
                    self.wrapup.call_ended(event.agent_interface)

    async def _on_connect(self, session: AmiSession) -> None:
        listing = await session.send_list("CoreShowChannels")
        live = [t for t in map(ami.to_typed, listing.items) if isinstance(t, ami.CoreShowChannel)]
        events = self.model.resync(live, self.clock.now())
        log.info("resynced with %d live channels: %d call(s) closed as lost, %d offered", len(live),
                 sum(1 for e in events if e.type == "call.ended"), sum(1 for e in events if e.type == "call.offered"))
        queues = await session.send_list("QueueStatus")
        members = [t for t in map(ami.to_typed, queues.items) if isinstance(t, ami.QueueMember)]
        events += self.agents.resync(members)
        await self._publish(events)
        self.wrapup.resumed()

    async def run(self, stop: asyncio.Event) -> None:
        commands = asyncio.create_task(self.commands.run(stop, self.accepting_commands), name="cti-commands")
        try:
            await self.client.run(stop)
        finally:
            stop.set()
            await asyncio.gather(commands, return_exceptions=True)
            await self.wrapup.close()
