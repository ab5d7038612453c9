"""Agent phones and far ends: the legs a call rings, and how each behaves once rung.

A leg is what the caller's side of a Queue() or Dial() sees: a ``;1`` Local channel backed by a
``;2`` running the agent's dialplan (trace setup), or one ``PJSIP/1001-…`` channel (production).
The phone's behaviour (ring delay, talk time, never answering) comes from its AgentSpec.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from cti.simulator.config import AgentSpec
from cti.simulator.features import AGENT_FEATURES
from cti.simulator.pbx import Channel, Pbx
from cti.simulator.queues import INUSE, RINGING, Queues

if TYPE_CHECKING:
    from cti.simulator.clock import SimClock


async def wait(clock: SimClock, seconds: float | None, *watch: Channel) -> bool:
    """Sleep ``seconds`` of simulated time (None: forever) unless a hangup is requested on a watched
    channel first. True when the time ran out, False when interrupted."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds) if seconds is not None else asyncio.Event().wait())
    waiters = [asyncio.ensure_future(ch.hup.wait()) for ch in watch]
    try:
        done, _ = await asyncio.wait([sleeper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        return sleeper in done and not any(ch.hup.is_set() for ch in watch)
    finally:
        for task in (sleeper, *waiters):
            task.cancel()


def talk_time(spec: AgentSpec | None) -> float:
    if spec is None:
        return 3.0
    if isinstance(spec.talk_time, tuple):
        return random.uniform(*spec.talk_time)
    return spec.talk_time


class AgentLeg:
    """One agent phone rung for a caller. ``one`` is the channel the caller's side deals with."""

    def __init__(self, pbx: Pbx, queues: Queues, caller: Channel, interface: str, *, app: str,
                 member_name: str | None = None) -> None:
        self.pbx, self.queues, self.caller, self.interface = pbx, queues, caller, interface
        self.app = app  # AppQueue or AppDial2
        self.member_name = member_name
        self.spec = queues.agent_spec(interface)
        self.local = interface.startswith("Local/")
        self.one: Channel
        self.two: Channel | None = None
        self.rung_at = 0.0
        self.answered = asyncio.Event()
        self.connected = asyncio.Event()  # the caller's side bridged us: talk time starts
        self._task: asyncio.Task[None] | None = None

    def create(self) -> Channel:
        pbx, caller = self.pbx, self.caller
        if self.local:
            exten, _, context = self.interface.removeprefix("Local/").partition("@")
            self.one, self.two = one, two = pbx.local_pair(exten, context, linkedid=caller.linkedid)
            one.cid_num, one.cid_name = caller.cid_num, caller.cid_name
            pbx.newexten(one, self.app, "(Outgoing Line)", priority=1)
            pbx.set_callerid(one, caller.cid_num, caller.cid_name)
            pbx.set_var(one, "DIALEDPEERNUMBER", f"{exten}@{context}")
            pbx.set_var(two, "DIALEDPEERNUMBER", f"{exten}@{context}")
            two.conn_num, two.conn_name = caller.cid_num, caller.cid_name
            pbx.set_callerid(two, caller.cid_num, caller.cid_name)
            pbx.set_connected(two, caller.cid_num, caller.cid_name)
            pbx.local_bridge(one, two)
        else:
            endpoint = self.interface.split("/", 1)[1]
            self.one = one = pbx.new_channel(self.interface, "agents", endpoint, linkedid=caller.linkedid)
            pbx.set_callerid(one, caller.cid_num, caller.cid_name)
            pbx.set_var(one, "DYNAMIC_FEATURES", AGENT_FEATURES)  # the b(agent-features^s^1) pre-dial handler
        self.rung_at = pbx.clock.now()
        return self.one

    def dial_string(self) -> str:
        return self.interface.removeprefix("Local/") if self.app == "AppDial2" else self.interface

    def start(self) -> None:
        self._task = asyncio.create_task(self._phone(), name=f"phone-{self.interface}")

    async def _phone(self) -> None:
        pbx, one, two = self.pbx, self.one, self.two
        answer_after = self.spec.answer_after if self.spec else 2.0
        if two is not None:
            pbx.newexten(two, "NoOp", f"{self.member_name or self.interface} phone rings")
            pbx.newexten(two, "Ringing")
        pbx.set_state(one, 5)
        pbx.device_state(self.interface, "INUSE" if self.local else "RINGING")
        self.queues.set_status(self.interface, INUSE if self.local else RINGING)
        pbx.dest_event("DialState", self.caller, one, ("DialStatus", "RINGING"))
        watch = [c for c in (one, two) if c is not None]
        if two is not None:
            pbx.newexten(two, "Wait", f"{answer_after:g}" if answer_after is not None else "30")
        if not await wait(pbx.clock, answer_after, *watch):
            return
        if two is not None:
            pbx.newexten(two, "Answer")
            pbx.set_state(two, 6)
        pbx.set_state(one, 6)
        self.queues.set_status(self.interface, INUSE)
        self.answered.set()
        await self.connected.wait()
        talk = talk_time(self.spec)
        if two is not None:
            if not await wait(pbx.clock, 0.5, *watch):  # Answer() on a Local channel waits 500 ms for media
                return
            pbx.newexten(two, "Wait", f"{talk:g}")
        if not await wait(pbx.clock, talk, *watch):
            return
        if two is not None:
            pbx.newexten(two, "Hangup")
            pbx.soft_hangup_request(two, 16)
            pbx.hangup_request(one, 16)
            pbx.hangup(two, 16)
            pbx.device_state(self.interface, "NOT_INUSE")
        else:
            pbx.hangup_request(one, 16)

    def drop(self, cause: int) -> None:
        """The caller's side gives up on this leg: answered elsewhere (26), caller gone, ring timeout."""
        if self._task is not None:
            self._task.cancel()
        if self.two is not None and self.two.alive:
            self.pbx.hangup_request(self.two, cause)
            self.pbx.hangup(self.one, cause)
            self.pbx.soft_hangup_request(self.two, 16)
            self.pbx.hangup(self.two, cause)
        else:
            self.pbx.hangup(self.one, cause)
        self.pbx.device_state(self.interface, "NOT_INUSE")

    def finish(self) -> None:
        """After the talk: hang up what is left of the leg."""
        if self._task is not None:
            self._task.cancel()
        if self.two is not None and self.two.alive:
            self.pbx.soft_hangup_request(self.two, 16)
            self.pbx.hangup(self.two, 16)
        self.pbx.hangup(self.one, 16)
        self.pbx.device_state(self.interface, "NOT_INUSE")
