"""Runs one flow for one call: answers, walks the nodes against the channel and the platform's
services, and records every step in a ``FlowResult``.

The flow ends by handing the call back to the dialplan with IVR_QUEUE set (``route``; the dialplan
queues it), with IVR_TRANSFER set (``transfer``), or by hanging up (``hangup``, ``callback``). When the
caller hangs up the result says ``caller_hung_up`` with the path so far. On a loop (``max_steps``) or
an unexpected failure the caller is not dropped: IVR_QUEUE is set to the flow's default queue and
the outcome is ``error``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import InvalidOperation
from typing import Any

from ivr.flows import speech
from ivr.flows.calendar import HolidayCalendar
from ivr.flows.channel import CallChannel, CallerGone, ChannelTimeout
from ivr.flows.result import FlowResult, Outcome, Step
from ivr.flows.schema import (
    DEFAULT_SUBJECT,
    INPUT_PATTERNS,
    MASKED_INPUTS,
    CallbackNode,
    CollectNode,
    ConditionNode,
    Flow,
    HangupNode,
    LookupNode,
    MenuNode,
    NodeBase,
    PlayNode,
    RetryingNode,
    RouteNode,
    SayNode,
    SetNode,
    TransferNode,
)
from ivr.flows.services import IvrServices
from ivr.flows.templates import render
from ivr.prompts.catalog import PromptCatalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _End:
    outcome: Outcome
    queue: str | None = None
    priority: int | None = None
    detail: str = ""


@dataclass
class _Call:
    flow: Flow
    channel: CallChannel
    services: IvrServices
    calendar: HolidayCalendar
    prompts: PromptCatalog
    started: datetime
    variables: dict[str, Any] = field(default_factory=dict)
    channel_vars: dict[str, str] = field(default_factory=dict)

    def offset_ms(self) -> int:
        return int((self.services.now() - self.started).total_seconds() * 1000)

    async def set(self, name: str, value: str) -> None:
        await self.channel.set_variable(name, value)
        self.channel_vars[name] = value

    async def play(self, prompts: Sequence[str]) -> None:
        # Not interruptible: a digit pressed during an announcement would otherwise be lost.
        if prompts:
            await self.channel.play(list(prompts), interruptible=False)


Handler = Callable[[Any, _Call, Step], Awaitable["str | _End"]]


async def _retrying_input(node: RetryingNode, call: _Call, step: Step, *, max_digits: int, terminator: str,
                          accept: Callable[[str], str | None]) -> str | None:
    """Prompt and read until ``accept`` returns a value, at most the node's number of tries."""
    tries = node.retries or call.flow.settings.max_retries
    before: list[str] = []
    for _ in range(tries):
        entered = await call.channel.read_digits([*before, *node.prompts], max_digits=max_digits,
                                                 timeout_seconds=node.timeout_seconds, terminator=terminator)
        entered = entered or None  # AGI gives "" for a lone terminator: no input either
        accepted = accept(entered) if entered else None
        step.digits.append(entered)
        if accepted is not None:
            return accepted
        before = list(node.timeout_prompts if entered is None else node.invalid_prompts)
    step.detail = f"fallback after {tries} tries"
    return None


async def _menu(node: MenuNode, call: _Call, step: Step) -> str | _End:
    digit = await _retrying_input(node, call, step, max_digits=1, terminator="#",
                                  accept=lambda d: d if d in node.options else None)
    if digit is None:
        return node.fallback
    if node.variable:
        await call.set(node.variable, digit)
    return node.options[digit]


async def _collect(node: CollectNode, call: _Call, step: Step) -> str | _End:
    pattern = re.compile(INPUT_PATTERNS[node.validator])

    def accept(entered: str) -> str | None:
        if node.star and entered.startswith("*"):
            return "*"
        ok = node.min_length <= len(entered) <= node.max_length and pattern.fullmatch(entered)
        return entered.replace("*", "X") if ok else None

    value = await _retrying_input(node, call, step, max_digits=node.max_length, terminator=node.terminator,
                                  accept=accept)
    if node.validator in MASKED_INPUTS:
        step.digits = ["****" if d is not None else None for d in step.digits]
    if value is None:
        return node.fallback
    if value == "*" and node.star:
        step.detail = "star"
        return node.star
    call.variables[node.store] = value
    return node.next


async def _lookup(node: LookupNode, call: _Call, step: Step) -> str | _End:
    caller, services = call.channel.caller, call.services
    key = str(call.variables.get(node.input, "")) if node.input else ""
    result: Any
    if node.what == "customer_by_caller":
        result = await services.customer_by_phone(caller) if caller else None
    elif node.what == "repeat_complainant":
        result = await services.repeat_complainant(caller, days=node.days) if caller else False
    elif node.what == "policy_by_number":
        result = await services.policy_by_number(key) if key else None
    else:
        result = await services.policy_by_plate(key) if key else None
    found = bool(result)
    call.variables[node.store] = result
    step.lookup, step.found = node.what, found
    return node.found if found else node.not_found


def _check(node: ConditionNode, call: _Call) -> bool:
    subject = call.variables.get(node.subject or DEFAULT_SUBJECT.get(node.check, ""))
    match node.check:
        case "business_hours":
            return call.calendar.is_business_time(call.services.now(), call.flow.settings.business_hours)
        case "vip":
            return bool(getattr(subject, "vip", False))
        case "risk_flag":
            return bool(getattr(subject, "risk_flags", ()))
        case "repeat_complainant":
            return bool(subject)
        case "policy_in_force":
            return bool(getattr(subject, "in_force", False))
        case "id_last4_matches":
            expected = getattr(subject, "holder_id_last4", None)
            entered = str(call.variables.get(node.input or "", ""))
            return bool(expected) and entered.upper() == str(expected).upper()
        case "language":
            return getattr(subject, "language", None) == node.equals
        case _:
            return render(f"{{{node.subject}}}", call.variables) == node.equals


async def _condition(node: ConditionNode, call: _Call, step: Step) -> str | _End:
    result = _check(node, call)
    step.detail = f"{node.check}: {'then' if result else 'else'}"
    return node.then if result else node.else_


async def _set(node: SetNode, call: _Call, step: Step) -> str | _End:
    for name, template in node.variables.items():
        call.variables[name] = render(template, call.variables)
    for name, template in node.channel.items():
        await call.set(name, render(template, call.variables))
    return node.next


async def _play(node: PlayNode, call: _Call, step: Step) -> str | _End:
    await call.play(node.prompts)
    return node.next


async def _say(node: SayNode, call: _Call, step: Step) -> str | _End:
    value = render(node.value, call.variables)
    try:
        pieces = speech.speak(node.kind, value) if value else []
    except (ValueError, InvalidOperation):
        pieces = []
        log.warning("flow %s node %s: cannot say %r as %s", call.flow.name, step.node, value, node.kind)
    step.detail = "said" if pieces else "value missing"
    await call.play([*node.prompts, *pieces] if pieces else node.missing_prompts)
    return node.next


async def _route(node: RouteNode, call: _Call, step: Step) -> str | _End:
    await call.play(node.prompts)
    for name, template in node.channel.items():
        await call.set(name, render(template, call.variables))
    await call.set("IVR_PRIORITY", str(node.priority))
    await call.set("QUEUE_PRIO", str(node.priority))  # Asterisk's own: read by Queue()
    await call.set("IVR_QUEUE", node.queue)
    return _End("queued", queue=node.queue, priority=node.priority)


async def _transfer(node: TransferNode, call: _Call, step: Step) -> str | _End:
    await call.play(node.prompts)
    await call.set("IVR_TRANSFER", node.extension)
    return _End("transferred", detail=node.extension)


async def _callback(node: CallbackNode, call: _Call, step: Step) -> str | _End:
    service = render(node.service, call.variables)
    await call.services.record_callback(phone=call.channel.caller, service=service,
                                        call_id=call.channel.call_id, flow=call.flow.name)
    await call.set("IVR_CALLBACK", "1")
    await call.play(node.prompts)
    await call.channel.hangup()
    return _End("callback", detail=service)


async def _hangup(node: HangupNode, call: _Call, step: Step) -> str | _End:
    await call.play(node.prompts)
    await call.channel.hangup()
    return _End(node.outcome)


HANDLERS: dict[type[NodeBase], Handler] = {
    PlayNode: _play, MenuNode: _menu, CollectNode: _collect, LookupNode: _lookup, ConditionNode: _condition,
    SetNode: _set, RouteNode: _route, TransferNode: _transfer, CallbackNode: _callback, SayNode: _say,
    HangupNode: _hangup,
}


async def _to_default_queue(call: _Call, detail: str) -> _End:
    queue = call.flow.settings.default_queue
    try:
        await call.set("IVR_QUEUE", queue)
    except (CallerGone, ChannelTimeout):
        return _End("caller_hung_up", detail=detail)
    return _End("error", queue=queue, detail=detail)


async def _walk(call: _Call, path: list[Step]) -> _End:
    current = call.flow.start
    for _ in range(call.flow.settings.max_steps):
        node = call.flow.nodes[current]
        step = Step(node=current, type=node.type, started_ms=call.offset_ms())
        path.append(step)
        try:
            outcome = await HANDLERS[type(node)](node, call, step)
        finally:
            step.duration_ms = call.offset_ms() - step.started_ms
        if isinstance(outcome, _End):
            return outcome
        current = outcome
    return await _to_default_queue(call, f"step limit {call.flow.settings.max_steps} reached")


async def run_flow(flow: Flow, channel: CallChannel, services: IvrServices, *, calendar: HolidayCalendar,
                   prompts: PromptCatalog) -> FlowResult:
    call = _Call(flow=flow, channel=channel, services=services, calendar=calendar, prompts=prompts,
                 started=services.now(), variables={"caller": channel.caller, "dialled": channel.dialled,
                                                    "call_id": channel.call_id, "flow": flow.name})
    path: list[Step] = []
    try:
        await channel.answer()
        end = await _walk(call, path)
    except (CallerGone, ChannelTimeout) as exc:
        if path:
            path[-1].detail = (path[-1].detail + "; " if path[-1].detail else "") + "caller hung up"
        end = _End("caller_hung_up", detail=type(exc).__name__)
    except Exception as exc:  # a lookup or the database failed: give the caller an agent, not silence
        log.exception("flow %s failed at %s", flow.name, path[-1].node if path else flow.start)
        end = await _to_default_queue(call, f"{type(exc).__name__}: {exc}")
    return FlowResult(flow=flow.name, call_id=channel.call_id, started_at=call.started, outcome=end.outcome,
                      queue=end.queue, priority=end.priority, variables=dict(call.channel_vars), path=path,
                      detail=end.detail)
