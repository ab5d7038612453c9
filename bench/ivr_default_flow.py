"""The shipped default IVR flow as a bench handler (``--handler bench.ivr_default_flow:handle``): the real
AGI session, channel adapter, flow engine and prompts, with the platform's data in memory, so the
figure is the IVR's own work (the database lookups have their own bench: ``directory_lookup``).

The simulated callers press random digits, so calls take every branch: claims with unknown policies,
complaints, consultations, policy queries with wrong ID digits, invalid input and retries."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.agi.channel import AgiChannel
from ivr.agi.session import AgiSession
from ivr.flows.calendar import HolidayCalendar
from ivr.flows.engine import run_flow
from ivr.flows.loader import SHIPPED_FOLDER, FlowRegistry
from ivr.flows.services import CustomerFacts, PolicyFacts
from ivr.prompts.catalog import PromptCatalog

IN_HOURS = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, 11:00 in Shanghai


class MemoryServices:
    def now(self) -> datetime:
        return IN_HOURS

    async def customer_by_phone(self, phone: str) -> CustomerFacts | None:
        return CustomerFacts(customer_id=7, org_id=1, level="normal")

    async def policy_by_number(self, policy_number: str) -> PolicyFacts | None:
        return None

    async def policy_by_plate(self, plate: str) -> PolicyFacts | None:
        return None

    async def repeat_complainant(self, phone: str, *, days: int) -> bool:
        return phone.endswith("8")

    async def record_callback(self, *, phone: str | None, service: str, call_id: str, flow: str) -> None:
        return None


PROMPTS = PromptCatalog.load()
FLOW = FlowRegistry([SHIPPED_FOLDER], queues={"complaints", "claims", "consultation", "callbacks", "vip",
                                              "general-service"}, prompts=PROMPTS).get("default")
CALENDAR = HolidayCalendar.load()
SERVICES = MemoryServices()


async def handle(session: AgiSession) -> None:
    channel = AgiChannel(session, prompt_path=PROMPTS.file_name)
    await run_flow(FLOW, channel, SERVICES, calendar=CALENDAR, prompts=PROMPTS)
