"""The embedded telephony of ``lianluo demo``: the PBX simulator on loopback, the CTI bridge talking
to it over real AMI exactly as ``lianluo cti`` talks to an Asterisk node, and the IVR it hands each
inbound call to over real FastAGI, as ``lianluo ivr`` serves Asterisk.

The simulator's phones are the seeded users' phones (``User.phone_interface``). The accounts the demo
banner offers (``*_hq``, ``*_bj``) are left for people: their phones ring and auto-answer, but they
join queues only when their user logs in from the console. Every other seeded agent is a "robot":
a static queue member that answers, talks a while and hangs up, so the queues, call records and
reports fill up. Callers are drawn from the directory's customers, so screen pops find them.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from backend.auth.models import User
from backend.core.context import AppContext
from backend.directory.models import Customer
from backend.orgs.scope import Scope
from cti.ami.client import AmiSettings
from cti.bridge import CtiBridge
from cti.simulator import AgentSpec, PbxSimulator, SimConfig
from ivr.service import Ivr

log = logging.getLogger("lianluo.demo")

CALLERS = 500


def for_people(username: str) -> bool:
    """Accounts the demo banner lists, meant to be tried by hand."""
    return username == "admin" or username.endswith(("_hq", "_bj"))


async def _phones_and_callers(ctx: AppContext) -> tuple[list[AgentSpec], list[str]]:
    async with ctx.db.session(scope=Scope.everything()) as session:
        users = (await session.execute(select(User.username, User.display_name, User.phone_interface)
                                       .where(User.phone_interface.is_not(None))
                                       .order_by(User.phone_interface))).all()
        callers = list(await session.scalars(select(Customer.mobile).where(Customer.mobile.is_not(None))
                                             .order_by(Customer.id).limit(CALLERS)))
    phones = [AgentSpec(interface, name, answer_after=2.0, talk_time=(20.0, 90.0), static=not for_people(username))
              for username, name, interface in users]
    return phones, [c for c in callers if c]


class EmbeddedPbx:
    """The simulator, the IVR and the CTI bridge of one node, started together on loopback and stopped together.

    ``lianluo demo`` runs one for the life of the process; the browser tests start one around a test, with
    their own phones, so that an agent's console talks to a PBX over real AMI exactly as it does in the demo.
    """

    def __init__(self, ctx: AppContext, phones: list[AgentSpec], *, speed: float) -> None:
        self.ctx = ctx
        self.phones = phones
        self.speed = speed
        self.ivr = Ivr(ctx, port=0, always_open=True)
        self.simulator: PbxSimulator | None = None
        self.bridge: CtiBridge | None = None
        self._stop = asyncio.Event()
        self._bridge_task: asyncio.Task[None] | None = None

    async def start(self) -> PbxSimulator:
        settings = self.ctx.settings
        recordings = settings.effective_recordings_dir
        recordings.mkdir(parents=True, exist_ok=True)
        # A free loopback port (no clash with a real IVR on 4573); open all hours, as visitors come at any hour.
        agi_port = await self.ivr.start()
        self.simulator = PbxSimulator(SimConfig(
            port=0, speed=self.speed, username=settings.ami_username,
            secret=settings.ami_secret.get_secret_value(), agi=f"agi://127.0.0.1:{agi_port}/default",
            recordings=recordings, agents=self.phones, sounds=self.ivr.prompts.spoken_seconds()))
        port = await self.simulator.start()
        self.bridge = CtiBridge(settings, self.ctx.bus, self.ctx.clock, ami=AmiSettings(
            host="127.0.0.1", port=port, username=settings.ami_username,
            secret=settings.ami_secret.get_secret_value()))
        self._bridge_task = asyncio.create_task(self.bridge.run(self._stop), name="cti-bridge")
        log.info("PBX simulator on 127.0.0.1:%d with %d phones", port, len(self.phones))
        return self.simulator

    async def connected(self) -> None:
        """Returns once the bridge is logged in to the simulator's AMI."""
        assert self.bridge is not None and self._bridge_task is not None, "start() first"
        connected = asyncio.create_task(self.bridge.client.connected.wait())
        await asyncio.wait({connected, self._bridge_task}, return_when=asyncio.FIRST_COMPLETED)
        if not connected.done():
            connected.cancel()
            self._bridge_task.result()  # raises why the bridge stopped

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set (or the bridge fails)."""
        assert self._bridge_task is not None, "start() first"
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, self._bridge_task}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if self._bridge_task.done():
            self._bridge_task.result()

    async def stop(self) -> None:
        self._stop.set()
        try:
            if self._bridge_task is not None:
                await self._bridge_task
        finally:
            if self.simulator is not None:
                await self.simulator.stop()
            await self.ivr.stop()


async def run_embedded_pbx(ctx: AppContext, stop: asyncio.Event) -> None:
    settings = ctx.settings
    phones, callers = await _phones_and_callers(ctx)
    pbx = EmbeddedPbx(ctx, phones, speed=settings.sim_speed)
    simulator = await pbx.start()
    log.info("%.1f simulated calls/min", settings.sim_calls_per_minute)
    if settings.sim_calls_per_minute > 0 and callers:
        # The main menu's choices that need no more keys (投诉, 咨询, 人工), pressed once the welcome has
        # played and the menu is being read out.
        simulator.start_traffic(settings.sim_calls_per_minute, callers, keys=("2", "3", "0"), gap=(9.0, 14.0))
    try:
        await pbx.run(stop)
    finally:
        await pbx.stop()
