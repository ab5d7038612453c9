"""``lianluo ivr``: the FastAGI server, the flow registry and the platform's data, wired together.

Each call Asterisk hands over runs the flow its ``agi://…/<flow>`` URL names. When the flow ends, its
whole path goes out as ``ivr.session_ended`` (the backend stores it with the call record). A flow name
nobody knows is logged and the call handed back at once: the dialplan then queues it as it would if the
IVR were unreachable. SIGHUP re-reads the flow files; a bad edit is refused and the flows in use stay.
"""

from __future__ import annotations

import logging
from datetime import time
from pathlib import Path

from backend.core.context import AppContext
from backend.core.events import IvrSessionEnded
from backend.core.settings import Settings
from ivr.agi.channel import AgiChannel
from ivr.agi.server import AgiServer
from ivr.agi.session import AgiSession
from ivr.flows.calendar import BusinessHours, HolidayCalendar, load_calendar
from ivr.flows.engine import run_flow
from ivr.flows.loader import SHIPPED_FOLDER, FlowRegistry, UnknownFlow
from ivr.flows.result import FlowResult
from ivr.flows.services import IvrServices
from ivr.lookups import DatabaseServices
from ivr.prompts.catalog import PromptCatalog

log = logging.getLogger("lianluo.ivr")

ALL_HOURS = BusinessHours(open=time(0, 0), close=time(23, 59, 59, 999999), days="every_day")


def flow_folders(settings: Settings) -> list[Path]:
    return [SHIPPED_FOLDER, *([settings.ivr_flows_dir] if settings.ivr_flows_dir else [])]


def load_registry(settings: Settings, prompts: PromptCatalog | None = None) -> FlowRegistry:
    """Every flow, validated; FlowRegistryError (naming file, node and problem) if any is broken."""
    return FlowRegistry(flow_folders(settings), queues=set(settings.cti_queues), prompts=prompts or PromptCatalog.load())


class Ivr:
    def __init__(self, ctx: AppContext, *, registry: FlowRegistry | None = None,
                 services: IvrServices | None = None, port: int | None = None, always_open: bool = False) -> None:
        """``always_open``: business hours never end (the demo, whose visitors come at any hour)."""
        self.ctx = ctx
        self.prompts = PromptCatalog.load()
        self.registry = registry or load_registry(ctx.settings, self.prompts)
        self._calendars: dict[str, HolidayCalendar] = {}
        self._always_open = always_open
        # Callback requests fall due when the default flow's agents are next there.
        hours = (self.registry.get("default").settings.business_hours if "default" in self.registry.names()
                 else BusinessHours())
        self.services = services or DatabaseServices(
            ctx.db, ctx.bus, ctx.clock, node=ctx.settings.node_id,
            next_opening=lambda at: self._calendar(hours.calendar).next_opening(at, hours))
        settings = ctx.settings
        self.server = AgiServer(self.handle, settings.agi_host, settings.agi_port if port is None else port,
                                command_timeout=settings.ivr_command_timeout_seconds)

    def _calendar(self, name: str) -> HolidayCalendar:
        if name not in self._calendars:
            self._calendars[name] = load_calendar(name)
        return self._calendars[name]

    def reload(self) -> list[str]:
        errors = self.registry.reload()
        for error in errors:
            log.error("flow reload refused, the flows in use stay: %s", error)
        if not errors:
            log.info("flows reloaded")
        return errors

    async def handle(self, session: AgiSession) -> None:
        try:
            flow = self.registry.get(session.script)
        except UnknownFlow:
            log.warning("call %s asked for flow %r, which does not exist; handed back to the dialplan",
                        session.uniqueid, session.script)
            return
        if self._always_open:
            flow = flow.model_copy(update={"settings": flow.settings.model_copy(update={"business_hours": ALL_HOURS})})
        channel = AgiChannel(session, prompt_path=self.prompts.file_name)
        calendar = self._calendar(flow.settings.business_hours.calendar)
        result = await run_flow(flow, channel, self.services, calendar=calendar, prompts=self.prompts)
        await self._publish(session, channel, result)

    async def _publish(self, session: AgiSession, channel: AgiChannel, result: FlowResult) -> None:
        ended = self.ctx.clock.now()
        customer = result.variables.get("IVR_CUSTOMER_ID")
        event = IvrSessionEnded(
            call_id=result.call_id or channel.call_id, channel=session.channel, caller=channel.caller,
            dialled=channel.dialled, flow=result.flow, outcome=result.outcome,
            service=result.variables.get("IVR_SERVICE"), queue=result.queue, priority=result.priority,
            customer_id=int(customer) if customer and customer.isdigit() else None,
            variables=dict(result.variables), path=tuple(step.model_dump(mode="json") for step in result.path),
            started_at=result.started_at, ended_at=max(ended, result.started_at))
        try:
            await self.ctx.bus.publish(event, node=self.ctx.settings.node_id)
        except Exception:  # the caller has been routed; losing the report must not hurt them
            log.exception("IVR path of call %s not published", event.call_id)

    async def start(self) -> int:
        port = await self.server.start()
        log.info("IVR (FastAGI) on %s:%d with flows %s", self.ctx.settings.agi_host, port,
                 ", ".join(self.registry.names()))
        return port

    async def stop(self, grace: float = 5.0) -> None:
        await self.server.stop(grace)
