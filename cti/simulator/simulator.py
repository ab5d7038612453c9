"""PbxSimulator: the facade that wires clock, PBX model, queues, dialplan, AMI listener and scenarios."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from cti.simulator.ami_server import AmiServer
from cti.simulator.clock import SimClock
from cti.simulator.config import SimConfig
from cti.simulator.features import FeatureKeys
from cti.simulator.flows import CallerScript, Dialplan, Originate
from cti.simulator.pbx import Channel, Pbx
from cti.simulator.queues import Queues
from cti.simulator.recording import Recorder

log = logging.getLogger("lianluo.simulator")


class PbxSimulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = SimClock(self.config.speed)
        self.pbx = Pbx(self.clock)
        self.pbx.sounds.update(self.config.sounds)
        self.queues = Queues(self.pbx)
        self.queues.load(self.config.queues, self.config.agents)
        self.recorder = Recorder(self.config.recordings, self.pbx)
        self.dialplan = Dialplan(self.pbx, self.queues, self.config, self.recorder)
        self.server = AmiServer(self, self.config.host, self.config.port)
        self.features = FeatureKeys(self)
        self._traffic: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> int:
        return await self.server.start()

    async def stop(self) -> None:
        self.stop_traffic()
        self.dialplan.cancel_all()
        await self.server.stop()
        await self.recorder.flush()

    async def restart(self, *, drop_window: float = 0.05, refuse_window: float = 0.35) -> None:
        """``core restart now``: Shutdown to every logged-in session, close ~20 ms later, live calls gone;
        new connections are first accepted and dropped without a banner, then refused, then welcome
        with a fresh Uptime. The windows are wall-clock seconds (they are about reconnect logic)."""
        self.server.broadcast_logged_in([("Event", "Shutdown"), ("Privilege", "system,all"),
                                         ("Shutdown", "Cleanly"), ("Restart", "True")])
        self.server.dropping = True
        self.pbx.listeners.clear()
        await asyncio.sleep(0.02)
        await self.server.close_all()
        self.dialplan.cancel_all()
        self.pbx.reset()
        self.recorder.reset()
        await asyncio.sleep(drop_window)
        await self.server.stop_listening()
        await asyncio.sleep(refuse_window)
        self.clock.reboot()
        self.queues.load(self.config.queues, self.config.agents)
        self.server.dropping = False
        await self.server.start()

    # --- calls and scenarios

    async def originate(self, channel: str, context: str, exten: str, *, caller_id: tuple[str, str],
                        timeout: float = 30.0, variables: Sequence[tuple[str, str]] = (),
                        action_id: str | None = None) -> None:
        await self.dialplan.originate(Originate(channel, context, exten, 1, action_id, caller_id, timeout,
                                                list(variables)))

    async def inbound_call(self, caller: str, *, did: str = "4008001234", keys: Sequence[str] = ("1",),
                           gap: float = 3.0, stay: float = 60.0) -> Channel:
        """A customer calling the hotline through the trunk (production mode)."""
        return await self.dialplan.inbound(caller, did, CallerScript(list(keys), gap, stay))

    async def run_scenario(self, name: str, **kw: object) -> None:
        from cti.simulator.scenarios import SCENARIOS
        try:
            scenario = SCENARIOS[name]
        except KeyError:
            raise ValueError(f"no scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
        await scenario(self, **kw)

    def hold(self, ch: Channel, on: bool = True) -> None:
        """Put a channel on hold or take it off (what an agent phone's hold key does): Hold/Unhold on the
        phone's channel, hold music to whoever it is bridged with. Pressing hold twice changes nothing."""
        if ch.held == on or not ch.alive:
            return
        ch.held = on
        peer = ch.bridge.peer(ch) if ch.bridge is not None else None
        if on:
            self.pbx.ch_event("Hold", ch, ("MusicClass", "default"))
            if peer is not None:
                self.pbx.ch_event("MusicOnHoldStart", peer, ("Class", "default"))
        else:
            self.pbx.ch_event("Unhold", ch)
            if peer is not None:
                self.pbx.ch_event("MusicOnHoldStop", peer)

    def notify(self, interface: str, headers: dict[str, str], channel: Channel | None = None) -> None:
        """A SIP NOTIFY reached a simulated phone, inside the dialog of ``channel`` or else outside any. Like
        desk phones with remote control (BroadSoft-style ``Event: hold`` / ``Event: talk``), it holds that
        call (or its call in progress) or resumes it, a moment later (its re-INVITE); any other NOTIFY, or
        one with no such call, changes nothing."""
        event = headers.get("Event", "").strip().lower()
        if event not in ("hold", "talk"):
            return
        on = event == "hold"
        candidates = [channel] if channel is not None else list(self.pbx.channels.values())
        calls = [c for c in candidates if c.device == interface and c.bridge is not None and c.held != on]
        if not calls:
            return

        async def press() -> None:
            await self.clock.sleep(0.1)
            self.hold(calls[0], on)
        self.dialplan.spawn(press(), "phone-hold")

    # --- demo traffic

    def start_traffic(self, calls_per_minute: float, callers: Sequence[str], *,
                      keys: Sequence[str] = ("1", "2", "3"), stay: tuple[float, float] = (30.0, 120.0),
                      gap: tuple[float, float] = (1.0, 3.0)) -> None:
        """Poisson arrivals of inbound calls from ``callers`` (so screen pops find real customers)."""
        self.stop_traffic()
        self._traffic = asyncio.create_task(self._generate(calls_per_minute, list(callers), list(keys), stay, gap))

    def stop_traffic(self) -> None:
        if self._traffic is not None:
            self._traffic.cancel()
            self._traffic = None

    async def _generate(self, cpm: float, callers: list[str], keys: list[str], stay: tuple[float, float],
                        gap: tuple[float, float]) -> None:
        while True:
            await self.clock.sleep(random.expovariate(cpm / 60.0))
            try:
                await self.inbound_call(random.choice(callers), keys=[random.choice(keys)],
                                        gap=random.uniform(*gap), stay=random.uniform(*stay))
            except Exception:  # one bad call must not stop the demo's traffic
                log.exception("simulated call failed")


Scenario = Callable[..., Awaitable[None]]
