"""Commands from the platform to this PBX node, carried out over AMI and answered one by one.

The backend publishes command events (``backend.core.events.CtiCommand``) on the ``commands`` stream,
each addressed to a node. The bridge of that node turns each into one AMI action and answers with a
``CommandResult`` carrying the same ``command_id``: ``ok`` once Asterisk accepted the action, or
Asterisk's own message. Effects are reported the usual way, by the events the PBX then sends (an
originate's outcome is ``call.originate_result``, a pause is ``agent.state``), so a change made by
another tool and one made by us look alike.

Commands published while the node was down are not replayed when it comes back: an originate or a
transfer ten minutes late is worse than none, and the sender has long since answered its user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from backend.core import events as ev
from backend.core.bus import ONLY_NEW, Bus
from backend.core.clock import Clock
from cti.ami.client import ActionFailed, AmiError, AmiSession, next_action_id
from cti.ami.frames import UnsafeHeader
from cti.calls.model import CallModel

log = logging.getLogger("lianluo.cti.commands")

# features.conf [general] atxferabort: during an attended transfer's consultation these digits, received
# from the transferer, drop the consulted party and give the transferer the caller back.
ATXFER_ABORT = "*1"
# features.conf [applicationmap] lianluo_hold / lianluo_talk, enabled on agent phones' channels by the
# dialplan (DYNAMIC_FEATURES): keyed on the agent's channel, they send the phone a NOTIFY to hold / resume.
HOLD_KEYS, RESUME_KEYS = "*81", "*82"

Publish = Callable[[list[ev.Event]], Awaitable[None]]


class CommandError(Exception):
    """The command cannot be carried out; the message goes back to the sender."""


class CommandRunner:
    def __init__(self, node: str, bus: Bus, model: CallModel, clock: Clock,
                 session: Callable[[], AmiSession | None], publish: Publish) -> None:
        self.node = node
        self.bus = bus
        self.model = model
        self.clock = clock
        self._session = session
        self._publish = publish

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Take commands for this node until ``stop``; each one runs in its own task, so a slow PBX
        answer to one does not hold up the next."""
        running: set[asyncio.Task[None]] = set()
        stream = self.bus.subscribe(ev.CtiCommand.stream, after=ONLY_NEW)
        reader = asyncio.ensure_future(anext(stream))
        stopper = asyncio.ensure_future(stop.wait())
        if ready is not None:
            ready.set()
        try:
            while True:
                done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    return
                envelope = reader.result()
                reader = asyncio.ensure_future(anext(stream))
                command = envelope.event
                if isinstance(command, ev.CtiCommand) and command.node == self.node:
                    task = asyncio.create_task(self.answer(command), name=f"command-{command.command_id}")
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            for task in (reader, stopper, *running):
                task.cancel()
            await asyncio.gather(reader, stopper, *running, return_exceptions=True)
            await stream.aclose()

    async def answer(self, command: ev.CtiCommand) -> ev.CommandResult:
        call_id = command.call_id if isinstance(command, ev.CallCommand) else None
        try:
            await self.execute(command)
            result = ev.CommandResult(command_id=command.command_id, ok=True, call_id=call_id)
        except (CommandError, AmiError, UnsafeHeader) as exc:
            log.info("command %s (%s) failed: %s", command.command_id, command.type, exc)
            result = ev.CommandResult(command_id=command.command_id, ok=False, error=str(exc), call_id=call_id)
        try:
            await self.bus.publish(result, node=self.node)
        except Exception:  # the sender's wait times out and tells its user; the PBX did what it did
            log.exception("result of command %s not published: bus unavailable", command.command_id)
        return result

    def _ami(self) -> AmiSession:
        session = self._session()
        if session is None:
            raise CommandError("PBX not connected")
        return session

    def _origin(self, call_id: str) -> str:
        channel = self.model.origin_channel(call_id)
        if channel is None:
            raise CommandError(f"no live call {call_id} on node {self.node}")
        return channel

    def _customer(self, call_id: str) -> str:
        """The customer's channel: the origin, or on a click-to-call the party the agent's phone dialled."""
        channel = self.model.customer_channel(call_id)
        if channel is None:
            raise CommandError(f"no customer on call {call_id} on node {self.node}")
        return channel

    async def execute(self, command: ev.CtiCommand) -> None:
        if isinstance(command, ev.CallCommand) and command.agent_interface:
            if self.model.channel_on(command.call_id, command.agent_interface) is None:
                raise CommandError(f"{command.agent_interface} is not on call {command.call_id}")
        match command:
            case ev.OriginateCommand():
                await self._originate(command)
            case ev.SpyCommand():
                await self._spy(command)
            case ev.HangupCommand(call_id=call_id):
                await self._ami().send("Hangup", [("Channel", self._origin(call_id)), ("Cause", "16")])
            case ev.BlindTransferCommand(call_id=call_id, context=context, exten=exten):
                await self._ami().send("Redirect", [("Channel", self._customer(call_id)), ("Context", context),
                                                    ("Exten", exten), ("Priority", "1")])
                # Asterisk reports a Redirect with no transfer event: the bridge records it itself.
                await self._publish(self.model.transferred(call_id, "blind", f"{exten}@{context}", self.clock.now()))
            case ev.AttendedTransferCommand(call_id=call_id, agent_interface=interface, context=context, exten=exten):
                channel = self.model.channel_on(call_id, interface)
                await self._ami().send("Atxfer", [("Channel", channel), ("Exten", exten), ("Context", context)])
            case ev.AttendedTransferFinishCommand():
                await self._finish_transfer(command)
            case ev.HoldCommand():
                await self._hold(command)
            case ev.PauseCommand(interface=interface, paused=paused, reason=reason, queue=queue):
                headers = [("Interface", interface), ("Paused", "true" if paused else "false")]
                headers += [("Queue", queue)] if queue else []
                headers += [("Reason", reason)] if reason and paused else []
                await self._ami().send("QueuePause", headers)
            case ev.QueueAddCommand():
                headers = [("Queue", command.queue), ("Interface", command.interface),
                           ("StateInterface", command.interface), ("Penalty", str(command.penalty)),
                           ("Paused", "true" if command.paused else "false")]
                headers += [("MemberName", command.member_name)] if command.member_name else []
                await self._idempotent("QueueAdd", headers, "Already there")
            case ev.QueueRemoveCommand(interface=interface, queue=queue):
                await self._idempotent("QueueRemove", [("Queue", queue), ("Interface", interface)], "Not there")
            case ev.RecordingCommand(call_id=call_id, start=True):
                # One file per call, named by the call; "b": record only while bridged with someone.
                await self._ami().send("MixMonitor", [("Channel", self._origin(call_id)),
                                                      ("File", recording_name(call_id)), ("Options", "b")])
            case ev.RecordingCommand(call_id=call_id, start=False):
                await self._ami().send("StopMixMonitor", [("Channel", self._origin(call_id))])
            case _:
                raise CommandError(f"unknown command {command.type}")

    async def _idempotent(self, action: str, headers: list[tuple[str, str]], already: str) -> None:
        """Queue membership is a state to reach: "already a member" after QueueAdd is success, as is
        "not a member" after QueueRemove (a console retrying, a second tab, the phone having done it)."""
        try:
            await self._ami().send(action, headers)
        except ActionFailed as exc:
            if not (exc.response.get("Message") or "").endswith(already):
                raise

    async def _finish_transfer(self, command: ev.AttendedTransferFinishCommand) -> None:
        """Complete: the agent's leg hangs up and Asterisk bridges the caller with the consulted party (a
        transferer hanging up completes an attended transfer). Cancel: the atxferabort digits, as if keyed
        on the agent's phone (PlayDTMF ``Receive``), so the bridge's own feature drops the consulted party."""
        channel = self.model.channel_on(command.call_id, command.agent_interface)
        if channel is None:
            raise CommandError(f"{command.agent_interface} is not on call {command.call_id}")
        if command.complete:
            await self._ami().send("Hangup", [("Channel", channel), ("Cause", "16")])
            return
        for digit in ATXFER_ABORT:
            await self._ami().send("PlayDTMF", [("Channel", channel), ("Digit", digit), ("Receive", "true")])

    async def _hold(self, command: ev.HoldCommand) -> None:
        """The phone is told to press its own hold key: a SIP NOTIFY ``Event: hold`` (resume: ``Event: talk``,
        the BroadSoft-style remote control SIP desk phones implement); it re-INVITEs, Asterisk plays hold
        music to the other party and reports Hold/Unhold. A phone that ignores the NOTIFY stays as it is, and
        the console goes on showing what the PBX reports.

        Not AMI PJSIPNotify: Asterisk files it under the ``system`` class, and an AMI user with ``system``
        may also Originate into System() — a shell on the PBX. The same NOTIFY goes out from the dialplan
        instead (PJSIPNotify() in the call's own dialog), run by a dynamic feature whose digits are keyed
        here as if on the agent's phone (PlayDTMF ``Receive``, ``call`` class)."""
        interface = command.agent_interface or self.model.agent_of(command.call_id)
        channel = self.model.channel_on(command.call_id, interface) if interface else None
        if channel is None:
            raise CommandError(f"no agent phone on call {command.call_id}")
        if not channel.upper().startswith("PJSIP/"):
            raise CommandError(f"hold needs a SIP phone; {interface} is not one")
        for digit in HOLD_KEYS if command.on else RESUME_KEYS:
            await self._ami().send("PlayDTMF", [("Channel", channel), ("Digit", digit), ("Receive", "true")])

    async def _originate(self, command: ev.OriginateCommand) -> None:
        headers = [("Channel", command.channel), ("Context", command.context), ("Exten", command.exten),
                   ("Priority", str(command.priority)), ("Timeout", str(command.timeout_seconds * 1000)),
                   ("Async", "true")]
        headers += [("CallerID", command.caller_id)] if command.caller_id else []
        headers += [("Variable", f"{name}={value}") for name, value in command.variables.items()]
        agent = command.channel if isinstance(command, ev.ClickToCallCommand) else None
        await self._send_originate(command.command_id, command.channel, headers, agent)

    async def _spy(self, command: ev.SpyCommand) -> None:
        """The supervisor's phone runs ChanSpy(<agent's channel>,<options>) once answered: ``q`` no beep
        nor channel name read out, ``E`` hang up when the agent's channel does, ``w`` whisper to the agent."""
        target = self.model.channel_on(command.call_id, command.agent_interface)
        if target is None:
            raise CommandError(f"{command.agent_interface} is not on call {command.call_id}")
        options = "qE" + ("w" if command.mode == "whisper" else "")
        headers = [("Channel", command.supervisor_interface), ("Application", "ChanSpy"),
                   ("Data", f"{target},{options}"), ("Timeout", str(command.timeout_seconds * 1000)),
                   ("Async", "true")]
        headers += [("CallerID", command.caller_id)] if command.caller_id else []
        await self._send_originate(command.command_id, command.supervisor_interface, headers)

    async def _send_originate(self, command_id: str, channel: str, headers: list[tuple[str, str]],
                              agent: str | None = None) -> None:
        session = self._ami()
        # Registered before sending: the call's first events may be handled before the response.
        action_id = next_action_id()
        self.model.expect_originate(action_id, command_id, channel, agent)
        try:
            await session.send("Originate", headers, action_id=action_id)
        except BaseException:
            self.model.forget_originate(action_id)
            raise


def recording_name(call_id: str) -> str:
    return f"call-{call_id}.wav"
