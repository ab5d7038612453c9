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


async def run_embedded_pbx(ctx: AppContext, stop: asyncio.Event) -> None:
    settings = ctx.settings
    phones, callers = await _phones_and_callers(ctx)
    recordings = settings.effective_recordings_dir
    recordings.mkdir(parents=True, exist_ok=True)
    # A free loopback port (no clash with a real IVR on 4573); open all hours, as visitors come at any hour.
    ivr = Ivr(ctx, port=0, always_open=True)
    agi_port = await ivr.start()
    simulator = PbxSimulator(SimConfig(
        port=0, speed=settings.sim_speed, username=settings.ami_username,
        secret=settings.ami_secret.get_secret_value(), agi=f"agi://127.0.0.1:{agi_port}/default",
        recordings=recordings, agents=phones, sounds=ivr.prompts.spoken_seconds()))
    port = await simulator.start()
    log.info("PBX simulator on 127.0.0.1:%d with %d phones; %.1f calls/min", port, len(phones),
             settings.sim_calls_per_minute)
    bridge = CtiBridge(settings, ctx.bus, ctx.clock, ami=AmiSettings(
        host="127.0.0.1", port=port, username=settings.ami_username, secret=settings.ami_secret.get_secret_value()))
    if settings.sim_calls_per_minute > 0 and callers:
        # The main menu's choices that need no more keys (投诉, 咨询, 人工), pressed once the welcome has
        # played and the menu is being read out.
        simulator.start_traffic(settings.sim_calls_per_minute, callers, keys=("2", "3", "0"), gap=(9.0, 14.0))
    try:
        await bridge.run(stop)
    finally:
        await simulator.stop()
        await ivr.stop()
