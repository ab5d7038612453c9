"""Click-to-call: the number to dial — typed by the agent, or read where the platform keeps it — and the
command that rings the agent's phone and then dials it.

A number by reference (a customer's or a ticket's phone field) is read in the caller's org scope (the
directory for customers, the tickets for tickets; 404 outside it) and goes only where the PBX needs it,
the Originate's Exten. Nothing the agent can read back carries it: not the response, not the caller id
(which the phone displays and the call's events repeat: the agent's own extension instead), not the
channel variables. The audit log records that the user dialled that field of that customer or ticket
(``pii.dial``, never the number), committed before the command goes out, so that a dial the PBX then
refuses or never answers is on record as well.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.services import record
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core import events as ev
from backend.core.context import AppContext
from backend.core.problems import Invalid
from backend.directory.http import directory_for
from backend.telephony.schemas import CustomerRef, DialIn, NumberRef, digits_of
from backend.telephony.services import new_command_id, own_phone
from backend.tickets.services import get_ticket

DIAL_TIMEOUT_SECONDS = 30  # how long the agent's own phone may ring before the attempt is given up
MISSING = {
    "mobile": "该客户没有登记手机号码",
    "phone": "该客户没有登记固定电话",
    "caller_phone": "该工单没有来电号码",
    "complainant_phone": "该工单没有登记投诉人电话",
}


async def number_at(ctx: AppContext, session: AsyncSession, principal: Principal, ref: NumberRef) -> str:
    """The number ``ref`` points at, as dialled (digits only)."""
    if isinstance(ref, CustomerRef):
        principal.require(Permission.customer_read)
        raw = getattr(await directory_for(ctx, session, principal).customer(ref.id), ref.field)
    else:
        principal.require(Permission.ticket_read)
        raw = getattr(await get_ticket(session, ref.id), ref.field)
    if not raw:
        raise Invalid(MISSING[ref.field])
    digits = digits_of(raw)
    if digits is None:
        raise Invalid("登记的号码不是可拨打的电话号码，请核对后修改")
    return digits


def dial_exten(prefix: str, number: str) -> str:
    """What the dialplan dials: the outside-line prefix and the number as dialled from China (+86 dropped,
    other countries behind the international prefix 00), since a dialplan pattern has no ``+``."""
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("+"):
        number = "00" + number[1:]
    return prefix + number


async def click_to_call(ctx: AppContext, session: AsyncSession, principal: Principal,
                        body: DialIn, node: str) -> ev.ClickToCallCommand:
    """The command for ``body``; for a number by reference, the audit row is written (and committed) first."""
    phone = await own_phone(session, principal)
    command_id = new_command_id()
    if body.ref is None:
        number = body.number or ""
        caller_id = f'"{principal.display_name}" <{number}>'  # the agent typed it: their phone may show it
    else:
        number = await number_at(ctx, session, principal, body.ref)
        caller_id = f'"{principal.display_name}" <{phone.rsplit("/", 1)[-1]}>'
        async with ctx.db.session(scope=principal.scope) as own:  # its own unit of work: kept whatever follows
            await record(own, principal, action="pii.dial", subject_type=body.ref.kind, subject_id=str(body.ref.id),
                         detail={"field": body.ref.field, "command_id": command_id, "node": node})
    settings = ctx.settings
    return ev.ClickToCallCommand(
        command_id=command_id, node=node, requested_by=principal.user_id, channel=phone,
        context=settings.dial_context, exten=dial_exten(settings.dial_prefix, number), caller_id=caller_id,
        timeout_seconds=DIAL_TIMEOUT_SECONDS, variables={"LIANLUO_USER": str(principal.user_id)})
