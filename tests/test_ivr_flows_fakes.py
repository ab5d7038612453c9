"""Fakes for the IVR flow tests (no tests here): a scripted CallChannel, in-memory IvrServices on a
controllable clock, and the shipped catalogue, calendar and registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ivr.flows.calendar import HolidayCalendar
from ivr.flows.channel import CallerGone
from ivr.flows.engine import run_flow
from ivr.flows.loader import SHIPPED_FOLDER, FlowRegistry
from ivr.flows.result import FlowResult
from ivr.flows.schema import Flow
from ivr.flows.services import CustomerFacts, PolicyFacts
from ivr.prompts.catalog import PromptCatalog

QUEUES = {"complaints", "claims", "consultation", "callbacks", "vip", "general-service"}
HANGUP = object()  # in a script: the caller hangs up at this read
CATALOG = PromptCatalog.load()
CALENDAR = HolidayCalendar.load()
# Monday 2026-11-23, 10:00 in Shanghai: a working day in business hours.
IN_HOURS = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
AFTER_HOURS = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
CALLER = "13800000001"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class ScriptedChannel:
    """Answers each read_digits with the next script item: digits, None (timeout) or HANGUP."""

    script: list[object]
    clock: Clock
    caller: str | None = CALLER
    dialled: str | None = "95500"
    call_id: str = "1763860000.42"
    played: list[str] = field(default_factory=list)  # every prompt, in order, read prompts included
    variables: dict[str, str] = field(default_factory=dict)
    answered: bool = False
    hung_up: bool = False
    reads: int = 0

    async def answer(self) -> None:
        self.answered = True

    async def play(self, prompts: Sequence[str], *, interruptible: bool = True) -> str | None:
        self.played.extend(prompts)
        self.clock.advance(0.5 * len(prompts))
        return None

    async def read_digits(self, prompts: Sequence[str], *, max_digits: int, timeout_seconds: float,
                          terminator: str = "#") -> str | None:
        self.played.extend(prompts)
        self.clock.advance(1 + 0.5 * len(prompts))
        self.reads += 1
        if not self.script:
            raise AssertionError(f"the flow read digits after the script ended; played {self.played[-3:]}")
        item = self.script.pop(0)
        if item is HANGUP:
            raise CallerGone()
        assert item is None or isinstance(item, str)
        return item

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value

    async def get_variable(self, name: str) -> str | None:
        return self.variables.get(name)

    async def hangup(self) -> None:
        self.hung_up = True


@dataclass
class Callback:
    phone: str | None
    service: str
    call_id: str
    flow: str


@dataclass
class FakeServices:
    clock: Clock
    customers: dict[str, CustomerFacts] = field(default_factory=dict)
    policies: dict[str, PolicyFacts] = field(default_factory=dict)
    repeat_phones: set[str] = field(default_factory=set)
    callbacks: list[Callback] = field(default_factory=list)
    fail_lookups: bool = False

    def now(self) -> datetime:
        return self.clock.current

    async def customer_by_phone(self, phone: str) -> CustomerFacts | None:
        if self.fail_lookups:
            raise ConnectionError("database unreachable")
        return self.customers.get(phone)

    async def policy_by_number(self, policy_number: str) -> PolicyFacts | None:
        return self.policies.get(policy_number)

    async def policy_by_plate(self, plate: str) -> PolicyFacts | None:
        return next((p for p in self.policies.values() if p.plate_number and p.plate_number.endswith(plate)), None)

    async def repeat_complainant(self, phone: str, *, days: int) -> bool:
        return phone in self.repeat_phones

    async def record_callback(self, *, phone: str | None, service: str, call_id: str, flow: str) -> None:
        self.callbacks.append(Callback(phone, service, call_id, flow))


def customer(level: str = "normal", risk_flags: tuple[str, ...] = (), language: str = "zh") -> CustomerFacts:
    return CustomerFacts(customer_id=7, org_id=1, level=level, risk_flags=risk_flags, language=language)


def policy(number: str = "2026123456", *, in_force: bool = True, id_last4: str | None = "123X",
           due: date | None = date(2026, 12, 1), amount: Decimal | None = Decimal("1234.50"),
           plate: str | None = "京A12345") -> PolicyFacts:
    return PolicyFacts(policy_id=1, policy_number=number, customer_id=7, org_id=1, line="机动车辆保险",
                       product_name="机动车商业保险", status="in_force" if in_force else "terminated",
                       in_force=in_force, holder_id_last4=id_last4, next_premium_date=due,
                       next_premium_amount=amount, plate_number=plate)


def shipped_registry() -> FlowRegistry:
    return FlowRegistry([SHIPPED_FOLDER], queues=QUEUES, prompts=CATALOG)


@dataclass
class Call:
    result: FlowResult
    channel: ScriptedChannel
    services: FakeServices


async def call(flow: Flow, script: list[object], *, at: datetime = IN_HOURS, caller: str | None = CALLER,
               services: FakeServices | None = None, **facts: object) -> Call:
    clock = Clock(at)
    services = services or FakeServices(clock=clock, **facts)  # type: ignore[arg-type]
    services.clock = clock
    channel = ScriptedChannel(script=list(script), clock=clock, caller=caller)
    result = await run_flow(flow, channel, services, calendar=CALENDAR, prompts=CATALOG)
    return Call(result, channel, services)
