"""The dialplan of the simulated PBX: what each context does to a channel, as Python steps.

Each step emits the Newexten a real Asterisk would and then has its effect. Two dialplans share
the steps: the trace setup's (``[ivr-inbound]``, ``[caller-sim]``, ``[callee-*]``, Local agents) and the
production one of asterisk_conf/extensions.conf (``[from-trunk]`` → IVR → ``Queue(${IVR_QUEUE})``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.simulator.agi import run_agi
from cti.simulator.config import SimConfig
from cti.simulator.legs import wait
from cti.simulator.outbound import originate_phone
from cti.simulator.pbx import Channel, Pbx
from cti.simulator.queues import Queues
from cti.simulator.recording import Recorder

if TYPE_CHECKING:
    from cti.simulator.transfers import AttendedTransfer


@dataclass
class Originate:
    channel: str
    context: str
    exten: str
    priority: int
    action_id: str | None
    caller_id: tuple[str, str] = ("<unknown>", "<unknown>")
    timeout: float = 30.0
    variables: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CallerScript:
    """What a simulated customer does once connected: keys to press (each group after a pause) and
    how long to stay before hanging up."""

    keys: list[str] = field(default_factory=lambda: ["1", "8800123456#"])
    gap: float = 3.0
    stay: float = 60.0


def parse_callerid(text: str) -> tuple[str, str]:
    if "<" in text:
        name, _, num = text.partition("<")
        return num.rstrip(">").strip(), name.strip().strip('"') or "<unknown>"
    return text.strip(), "<unknown>"


class Dialplan:
    def __init__(self, pbx: Pbx, queues: Queues, config: SimConfig, recorder: Recorder) -> None:
        self.pbx, self.queues, self.config, self.recorder = pbx, queues, config, recorder
        self.tasks: set[asyncio.Task[None]] = set()
        self.scripts: dict[str, CallerScript] = {
            "answered": CallerScript(["1", "8800123456#"], 3.0, 60.0),
            "abandon": CallerScript(["2", "8800123456#"], 3.0, 6.0),
            "hold": CallerScript([], 0.0, 120.0)}
        self.redirects: dict[str, tuple[str, str, int]] = {}  # channel name → where a Redirect sends it
        self.transfers: dict[str, AttendedTransfer] = {}  # transferer channel name → its attended transfer

    def spawn(self, coro: object, name: str) -> None:
        task = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.transfers.clear()

    # --- Originate (AMI): the far end, then the channel continues in the action's context

    async def originate(self, o: Originate) -> None:
        pbx = self.pbx
        tech, _, rest = o.channel.partition("/")
        exten, _, context = rest.partition("@")
        if tech == "PJSIP" and not context:  # click-to-call: an agent's phone rings first
            await originate_phone(self, o)
            return
        if tech != "Local" or not context:
            await self._originate_failure(o, None, None, 0)
            return
        one, two = pbx.local_pair(exten, context)
        pbx.newexten(one, "AppDial2", "(Outgoing Line)", priority=1)
        for name, value in reversed(o.variables):
            pbx.set_var(one, name, value)
        num, name = o.caller_id
        if num != "<unknown>":
            pbx.set_callerid(one, num, name)
            pbx.set_connected(one, num, name)
        for var, value in o.variables:
            pbx.set_var(two, var, value)
        if num != "<unknown>":
            two.conn_num, two.conn_name = num, name
            pbx.set_callerid(two, num, name)
            pbx.set_connected(two, num, name)
        pbx.local_bridge(one, two)
        pbx.emit("DialBegin", "call,all", _dest(one) + [("DialString", f"{exten}@{context}")])
        outcome = await self._far_end(one, two, o)
        if outcome != 4:
            return
        pbx.goto(one, o.context, o.exten, o.priority)
        await self.run_context(one, after_first=lambda: self._originate_success(o, one))

    def _originate_success(self, o: Originate, one: Channel) -> None:
        self.pbx.emit("OriginateResponse", "call,all", [
            ("ActionID", o.action_id or ""), ("Response", "Success"), ("Channel", one.name), ("Context", o.context),
            ("Exten", o.exten), ("Reason", "4"), ("Uniqueid", one.uniqueid), ("CallerIDNum", one.cid_num),
            ("CallerIDName", one.cid_name)])

    async def _originate_failure(self, o: Originate, one: Channel | None, two: Channel | None, reason: int) -> None:
        # A failed originate names the dial string, not a channel, and has no Uniqueid.
        self.pbx.emit("OriginateResponse", "call,all", [
            ("ActionID", o.action_id or ""), ("Response", "Failure"), ("Channel", o.channel), ("Context", o.context),
            ("Exten", o.exten), ("Reason", str(reason)), ("Uniqueid", "<unknown>"),
            ("CallerIDNum", o.caller_id[0]), ("CallerIDName", o.caller_id[1])])

    async def _far_end(self, one: Channel, two: Channel, o: Originate) -> int:
        """Run ``;2`` (the simulated customer or callee). 4 when answered, else the failure reason."""
        pbx, clock = self.pbx, self.pbx.clock
        behaviour = two.context.removeprefix("callee-") if two.context.startswith("callee-") else "answer"
        if two.context == "caller-sim":
            pbx.newexten(two, "NoOp", f"Simulated customer - {two.exten}")
            pbx.newexten(two, "Answer")
            pbx.set_state(two, 6)
            pbx.device_state(two.device, "INUSE")
            pbx.set_state(one, 6)
            pbx.emit("DialEnd", "call,all", _dest(one) + [("DialStatus", "ANSWER")])
            self.spawn(self.caller_script(one, two, self.scripts.get(two.exten, CallerScript())), "caller")
            return 4
        pbx.newexten(two, "NoOp", f"Callee {two.exten}")
        if behaviour in ("busy", "congestion"):
            state, reason, cause = (7, 5, 17) if behaviour == "busy" else (7, 8, 34)
            pbx.newexten(two, "Busy" if behaviour == "busy" else "Congestion", "5")
            pbx.set_state(two, state)
            await self._originate_failure(o, one, two, reason)
            pbx.emit("DialEnd", "call,all", _dest(one) + [("DialStatus", behaviour.upper())])
            pbx.hangup_request(two, 0)
            pbx.soft_hangup_request(two, 16)
            pbx.hangup(two, cause)
            pbx.device_state(two.device, "NOT_INUSE")
            pbx.hangup(one, 0)
            return reason
        pbx.newexten(two, "Ringing")
        pbx.set_state(one, 5)
        pbx.device_state(two.device, "INUSE")
        pbx.newexten(two, "Wait", "2" if behaviour == "answer" else "120")
        pbx.emit("DialState", "call,all", _dest(one) + [("DialStatus", "RINGING")])
        ring = 2.0 if behaviour == "answer" else None
        if ring is None or ring >= o.timeout:
            await wait(clock, o.timeout, one, two)
            pbx.hangup_request(two, 19)
            await self._originate_failure(o, one, two, 3)
            pbx.hangup(one, 19)
            pbx.soft_hangup_request(two, 16)
            pbx.hangup(two, 19)
            pbx.device_state(two.device, "NOT_INUSE")
            return 3
        await wait(clock, ring, one, two)
        pbx.newexten(two, "Answer")
        pbx.set_state(two, 6)
        pbx.set_state(one, 6)
        self._originate_success(o, one)
        pbx.emit("DialEnd", "call,all", _dest(one) + [("DialStatus", "ANSWER")])
        self.spawn(self._callee_stays(two, 20.0), "callee")
        return 4

    async def _callee_stays(self, two: Channel, seconds: float) -> None:
        self.pbx.newexten(two, "Wait", f"{seconds:g}")
        if await wait(self.pbx.clock, seconds, two):
            self.hangup_from_far_end(two)

    async def caller_script(self, one: Channel, two: Channel, script: CallerScript) -> None:
        """``[caller-sim]``: presses keys (received on ``;1``), then stays a while and hangs up. Waits are
        kept against a schedule so that event-loop delays do not add up over many digits."""
        pbx, clock = self.pbx, self.pbx.clock
        due = clock.now()

        async def until(step: float) -> bool:
            nonlocal due
            due += step
            return await wait(clock, due - clock.now(), two)

        for keys in script.keys:
            pbx.newexten(two, "Wait", f"{script.gap:g}")
            if not await until(script.gap):
                return
            pbx.newexten(two, "SendDTMF", keys)
            for digit in keys:
                pbx.dtmf(one, digit, end=False)
                if not await until(0.1):
                    return
                pbx.dtmf(one, digit, end=True)
                if not await until(0.25):
                    return
        pbx.newexten(two, "Wait", f"{script.stay:g}")
        if await until(script.stay):
            pbx.newexten(two, "Hangup")
            self.hangup_from_far_end(two)

    def hangup_from_far_end(self, two: Channel) -> None:
        """``;2`` hangs up: its ``;1`` is asked to hang up, and the flow running ``;1`` ends it."""
        self.pbx.soft_hangup_request(two, 16)
        if two.partner is not None and two.partner.alive:
            self.pbx.hangup_request(two.partner, 16)
        self.pbx.hangup(two, 16)

    def end_call(self, one: Channel, cause: int = 16) -> None:
        """``;1`` (or a single channel) finishes its dialplan: Hangup() on it and on its far end."""
        pbx, two = self.pbx, one.partner
        if not one.alive:
            return
        if two is not None and two.alive:
            pbx.soft_hangup_request(one, cause)
            pbx.hangup_request(two, cause)
            pbx.hangup(one, cause)
            pbx.soft_hangup_request(two, 16)
            pbx.hangup(two, cause)
            pbx.device_state(two.device, "NOT_INUSE")
        else:
            pbx.hangup(one, cause)

    # --- contexts run by the caller's channel

    async def run_context(self, ch: Channel, after_first: object = None) -> None:
        from cti.simulator.contexts import run  # the contexts need this class; import late to avoid a cycle
        await run(self, ch, after_first)

    async def agi(self, ch: Channel, url: str | None) -> None:
        await run_agi(self.pbx, ch, url)

    def redirect(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        self.redirects[ch.name] = (context, exten, priority)
        self.pbx.request(ch, 16)

    async def inbound(self, number: str, did: str, script: CallerScript) -> Channel:
        """A customer calls the hotline through the trunk (production dialplan): one PJSIP channel."""
        pbx = self.pbx
        ch = pbx.new_channel(f"PJSIP/{self.config.trunk}", "from-trunk", did, state=4, caller=(number, number))
        self.spawn(self.run_context(ch), "inbound")
        self.spawn(self._trunk_caller(ch, script), "trunk-caller")
        return ch

    async def _trunk_caller(self, ch: Channel, script: CallerScript) -> None:
        clock = self.pbx.clock
        for keys in script.keys:
            if not await wait(clock, script.gap, ch):
                return
            for digit in keys:
                self.pbx.dtmf(ch, digit, end=False)
                if not await wait(clock, 0.1, ch):
                    return
                self.pbx.dtmf(ch, digit, end=True)
                if not await wait(clock, 0.25, ch):
                    return
        if await wait(clock, script.stay, ch) and ch.alive:
            self.pbx.hangup_request(ch, 16)

    def pick_queue(self, name: str) -> str:
        return name if name in self.queues.queues else self.config.fallback_queue

    def phone_for(self, context: str, exten: str) -> str | None:
        """The agent phone an extension rings: ``_10XX`` in the production ``[transfer]``/``[agents]``
        contexts, ``agentNNNN`` in the trace setup's ``[agents]``."""
        if self.config.mode == "trace-local":
            return f"Local/{exten}@agents" if context == "agents" and re.fullmatch(r"agent\d+", exten) else None
        if context in ("transfer", "agents", "from-internal") and re.fullmatch(r"10\d\d", exten):
            return f"PJSIP/{exten}"
        return None


def _dest(ch: Channel) -> list[tuple[str, str]]:
    from cti.simulator.wire import block
    return block(ch, "Dest")

