"""Assembling a caller's whole picture for the agent their call rings.

The reliable inputs while the phone rings are the IVR session (published when the flow ends, stored by the
worker's consumer moments later), the variables the ringing event carries, and the caller's number: the call
record only exists once the call has ended. The customer is the one the IVR recognised, else the only one the
caller's number names in the directory, else nobody (several matches become candidates to choose from).

Everything runs on the caller's scoped session and the directory adapter built for them, so a customer outside
the agent's subtree is indistinguishable from an unknown caller. Queries run one after another (an
``AsyncSession`` is not concurrent) and each is an indexed lookup or a small bounded list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.callbacks.models import CallbackRequest
from backend.calls.ivr_http import CallbackOut
from backend.calls.ivr_models import IvrSessionRecord
from backend.calls.models import AgentStateRecord, CallRecord
from backend.codes.services import active_items
from backend.core.problems import NotFound
from backend.directory.codes import RISK_FLAGS
from backend.directory.provider import CustomerDirectory
from backend.directory.records import ClaimRecord, CustomerQuery, CustomerRecord, PolicyRecord
from backend.orgs.scope import across_org_tree
from backend.screenpop.schemas import (
    SEARCH_KEYS,
    IvrOut,
    Prefill,
    QuickAction,
    RiskFlag,
    ScreenPopOut,
    ScreenPopQuery,
    ScreenPopSearch,
    TicketBrief,
)
from backend.search.columns import RISK as TICKET_RISK_LABELS
from backend.tickets.deadlines import LIMITED_TYPES
from backend.tickets.models import Ticket, TicketStatus, TicketType
from backend.tickets.risk import risk_flags as ticket_risk_flags
from backend.tickets.schemas import DetailsOut

RECENT_DAYS = 30  # consultations and other tickets shown from this many days back; complaints always
TICKET_LIMIT = 100
CALLBACK_LIMIT = 10
CANDIDATE_LIMIT = 5
CLOSED_CLAIM_STATUSES = frozenset({"paid", "rejected", "withdrawn"})
OPEN_CALLBACK_STATUSES = ("pending", "dialling")
Action = Literal["new_complaint", "new_claim_report", "new_consultation"]
QUICK_ACTIONS: tuple[tuple[TicketType, Action, str], ...] = ((TicketType.complaint, "new_complaint", "新建投诉"),
                                                            (TicketType.claim_report, "new_claim_report", "新建报案"),
                                                            (TicketType.consultation, "new_consultation", "新建咨询"))


class ChosenCustomerNotFound(NotFound):
    title, code = "客户不存在", "customer-not-found"


@dataclass
class CallFacts:
    """What is known about the call itself, before the directory is asked anything."""

    call_id: str | None
    node: str | None
    caller: str | None
    ivr: IvrOut | None = None
    customer_id: int | None = None  # as the IVR recognised it
    policy_number: str | None = None  # as entered in the IVR
    phones: set[str] = field(default_factory=set)


def _phone(raw: str | None) -> str | None:
    """The caller's number as the directory stores it; None for an anonymous or malformed caller id."""
    if not raw:
        return None
    try:
        return CustomerQuery(phone=raw).phone
    except ValidationError:
        return None


def _ivr_from_session(row: IvrSessionRecord) -> IvrOut:
    return IvrOut(source="ivr_session", flow=row.flow, outcome=row.outcome, service=row.service,
                  choice=row.variables.get("IVR_CHOICE"), policy_number=row.variables.get("IVR_POLICY"),
                  queue=row.queue, priority=row.priority, customer_id=row.customer_id,
                  variables=dict(row.variables), path=list(row.path), started_at=row.started_at,
                  ended_at=row.ended_at)


def _ivr_from_variables(source: Literal["ringing", "call_record"], variables: dict[str, str],
                        queue: str | None = None) -> IvrOut:
    customer = variables.get("IVR_CUSTOMER_ID", "")
    return IvrOut(source=source, service=variables.get("IVR_SERVICE"),
                  choice=variables.get("IVR_CHOICE"), policy_number=variables.get("IVR_POLICY"),
                  queue=queue or variables.get("IVR_QUEUE"),
                  customer_id=int(customer) if customer.isdigit() else None, variables=dict(variables))


async def _rings_principal(session: AsyncSession, principal: Principal, call_id: str, node: str | None) -> bool:
    """Whether this call rang (or was taken by) the asking user: then its IVR path is theirs to see, even when
    the IVR session belongs to an org outside their subtree (an unrecognised caller's belongs to the root)."""
    state = select(AgentStateRecord.id).where(AgentStateRecord.user_id == principal.user_id,
                                              AgentStateRecord.call_id == call_id)
    record = select(CallRecord.id).where(CallRecord.agent_user_id == principal.user_id, CallRecord.call_id == call_id)
    if node:
        state, record = state.where(AgentStateRecord.node == node), record.where(CallRecord.node == node)
    return (await session.scalar(state.limit(1)) is not None
            or await session.scalar(record.limit(1)) is not None)


async def call_facts(session: AsyncSession, principal: Principal, call_id: str | None, node: str | None,
                     phone: str | None, ringing_ivr: dict[str, str] | None = None,
                     ringing_queue: str | None = None) -> CallFacts:
    """The call as far as it is known now: its latest IVR session, else the variables of the ringing event
    (``ringing_ivr``, as the hub has them), else the record of the call once it has ended."""
    facts = CallFacts(call_id=call_id, node=node, caller=_phone(phone))
    if call_id:
        stmt = select(IvrSessionRecord).where(IvrSessionRecord.call_id == call_id)
        if node:
            stmt = stmt.where(IvrSessionRecord.node == node)
        stmt = stmt.order_by(IvrSessionRecord.started_at.desc(), IvrSessionRecord.id.desc()).limit(1)
        row = await session.scalar(stmt)
        if row is None and await _rings_principal(session, principal, call_id, node):
            row = await session.scalar(across_org_tree(stmt))
        if row is not None:
            facts.ivr, facts.node = _ivr_from_session(row), row.node
            facts.caller = facts.caller or _phone(row.caller)
        elif ringing_ivr is not None:
            facts.ivr = _ivr_from_variables("ringing", ringing_ivr, ringing_queue)
        else:
            record_stmt = select(CallRecord).where(CallRecord.call_id == call_id)
            if node:
                record_stmt = record_stmt.where(CallRecord.node == node)
            record = await session.scalar(record_stmt.order_by(CallRecord.started_at.desc()).limit(1))
            if record is not None:
                facts.node = record.node
                facts.caller = facts.caller or _phone(record.caller)
                if record.ivr:
                    facts.ivr = _ivr_from_variables("call_record", record.ivr, record.queue)
    if facts.ivr is not None:
        facts.customer_id, facts.policy_number = facts.ivr.customer_id, facts.ivr.policy_number
    if facts.caller:
        facts.phones.add(facts.caller)
    return facts


async def _find_customer(directory: CustomerDirectory, facts: CallFacts,
                         chosen: str | None) -> tuple[CustomerRecord | None, str | None, list[CustomerRecord]]:
    """(customer, how it was matched, candidates when the number names several)."""
    if chosen:
        try:
            return await directory.customer(chosen), "chosen", []
        except NotFound:
            raise ChosenCustomerNotFound("客户不存在") from None
    if facts.customer_id is not None:
        try:
            return await directory.customer(str(facts.customer_id)), "ivr", []
        except NotFound:
            pass  # outside this agent's subtree (or gone): as if the IVR had not recognised them
    if facts.caller:
        found = await directory.search(CustomerQuery(phone=facts.caller, limit=CANDIDATE_LIMIT))
        if len(found) == 1:
            return found[0], "phone", []
        return None, None, found
    return None, None, []


async def _tickets(session: AsyncSession, customer: CustomerRecord | None, phones: set[str],
                   id_number: str | None) -> list[Ticket]:
    who = []
    if customer is not None and customer.id.isdigit():
        who.append(Ticket.customer_id == int(customer.id))
    if phones:
        who += [Ticket.caller_phone.in_(phones), Ticket.complainant_phone.in_(phones)]
    if id_number:
        who.append(Ticket.complainant_id_number == id_number)
    if not who:
        return []
    stmt = (select(Ticket).where(or_(*who), Ticket.status != TicketStatus.draft)
            .order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(TICKET_LIMIT))
    return list(await session.scalars(stmt))


async def _callbacks(session: AsyncSession, customer: CustomerRecord | None, phones: set[str]) -> list[CallbackOut]:
    who = [CallbackRequest.phone.in_(phones)] if phones else []
    if customer is not None and customer.id.isdigit():
        who.append(CallbackRequest.customer_id == int(customer.id))
    if not who:
        return []
    rows = await session.scalars(select(CallbackRequest).where(or_(*who))
                                 .order_by(CallbackRequest.requested_at.desc()).limit(CALLBACK_LIMIT))
    out = [CallbackOut.model_validate(r) for r in rows]
    return sorted(out, key=lambda c: c.status not in OPEN_CALLBACK_STATUSES)  # stable: newest first within each


async def _history_flags(session: AsyncSession, now: datetime, caller: str | None,
                         customer: CustomerRecord | None) -> list[str]:
    """The tickets module's own check (backend.tickets.risk), asked about a ticket this call would register:
    repeat contact within 30 days, an older complaint, a prior violation report — tree-wide yes/no answers."""
    probe = Ticket(caller_phone=caller, complainant_phone=(customer.mobile or customer.phone) if customer else None,
                   complainant_id_number=customer.id_number if customer else None, received_at=now,
                   subject="", demand=None)
    if not (probe.caller_phone or probe.complainant_phone or probe.complainant_id_number):
        return []
    return await ticket_risk_flags(session, probe)


def _risk(customer: CustomerRecord | None, tickets: list[Ticket], history: list[str]) -> list[RiskFlag]:
    flags: dict[str, RiskFlag] = {}
    for code in customer.risk_flags if customer else []:
        flags.setdefault(code, RiskFlag(code=code, label=RISK_FLAGS.get(code, code), source="customer"))
    for code in history:
        flags.setdefault(code, RiskFlag(code=code, label=TICKET_RISK_LABELS.get(code, code), source="history"))
    for ticket in tickets:
        for code in ticket.risk_flags or []:
            flags.setdefault(code, RiskFlag(code=code, label=TICKET_RISK_LABELS.get(code, code), source="tickets"))
    return list(flags.values())


def _brief(t: Ticket, labels: dict[str, str]) -> TicketBrief:
    return TicketBrief(id=t.id, number=t.number, type=TicketType(t.type), type_label=labels.get(t.type, t.type),
                       status=t.status, channel=t.channel, subject=t.subject, policy_number=t.policy_number,
                       call_id=t.call_id, received_at=t.received_at, decision_due_at=t.decision_due_at,
                       due_state=t.due_state, closed_at=t.closed_at, risk_flags=list(t.risk_flags or []))


def _claims_open_first(claims: list[ClaimRecord]) -> list[ClaimRecord]:
    return sorted(claims, key=lambda c: c.status in CLOSED_CLAIM_STATUSES)  # stable: newest first within each


def quick_actions(facts: CallFacts, customer: CustomerRecord | None, policy: PolicyRecord | None,
                  policy_number: str | None) -> list[QuickAction]:
    """New complaint, claim report and consultation, each filled in from the call, the customer and the chosen
    policy, and linked to the call (``call_id``/``node``) so the ticket appears on the call's record."""
    phone = (customer.mobile or customer.phone) if customer else None
    out = []
    for ticket_type, action, label in QUICK_ACTIONS:
        details: dict[str, object] = {}
        if ticket_type is TicketType.claim_report:
            if policy is not None and policy.line == "motor" and policy.plate_number:
                details["plate"] = policy.plate_number
            if customer is not None:
                details["reporter_name"] = customer.name
            if facts.caller or phone:
                details["reporter_phone"] = facts.caller or phone
        elif ticket_type is TicketType.complaint and policy is not None:
            details["line_of_business"] = policy.line
        prefill = Prefill(type=ticket_type, call_id=facts.call_id, node=facts.node, caller_phone=facts.caller,
                          customer_id=int(customer.id) if customer and customer.id.isdigit() else None,
                          policy_number=policy_number, complainant_name=customer.name if customer else None,
                          complainant_phone=phone or facts.caller,
                          complainant_id_number=customer.id_number if customer else None,
                          details=DetailsOut(**details))
        out.append(QuickAction(action=action, label=label, prefill=prefill))
    return out


async def _chosen_policy(directory: CustomerDirectory, policies: list[PolicyRecord],
                         number: str | None) -> PolicyRecord | None:
    if not number:
        return policies[0] if len(policies) == 1 else None
    for policy in policies:
        if policy.policy_number == number:
            return policy
    try:
        return await directory.policy(number)  # someone else's policy (a relative's car, say), if in scope
    except NotFound:
        return None


async def screen_pop(session: AsyncSession, directory: CustomerDirectory, principal: Principal, now: datetime,
                     query: ScreenPopQuery, *, ringing_ivr: dict[str, str] | None = None,
                     ringing_queue: str | None = None) -> ScreenPopOut:
    """The whole picture, unmasked: the caller of this function presents it (backend.audit.pii.present)."""
    facts = await call_facts(session, principal, query.call_id, query.node, query.phone, ringing_ivr, ringing_queue)
    customer, matched_by, candidates = await _find_customer(directory, facts, query.customer_id)
    policies: list[PolicyRecord] = []
    claims: list[ClaimRecord] = []
    phones = set(facts.phones)
    if customer is not None:
        phones |= {p for p in (customer.mobile, customer.phone) if p}
        policies = await directory.policies_of(customer.id)
        claims = _claims_open_first(await directory.claims_of(customer.id))
    policy_number = query.policy_number or facts.policy_number
    policy = await _chosen_policy(directory, policies, policy_number)
    policy_number = policy.policy_number if policy is not None and not policy_number else policy_number
    tickets = await _tickets(session, customer, phones, customer.id_number if customer else None)
    labels = {i.code: i.label for i in await active_items(session, "business_type")} if tickets else {}
    recent = now - timedelta(days=RECENT_DAYS)
    complaints = [_brief(t, labels) for t in tickets if t.type in LIMITED_TYPES]
    consultations = [_brief(t, labels) for t in tickets if t.type == TicketType.consultation and t.received_at >= recent]
    others = [_brief(t, labels) for t in tickets
              if t.type not in LIMITED_TYPES and t.type != TicketType.consultation and t.received_at >= recent]
    history = await _history_flags(session, now, facts.caller, customer)
    return ScreenPopOut(
        call_id=facts.call_id, node=facts.node, caller=facts.caller, known=customer is not None,
        matched_by=matched_by, ivr=facts.ivr, customer=customer, candidates=candidates, policies=policies,
        chosen_policy_number=policy_number, claims=claims, complaints=complaints, consultations=consultations,
        other_tickets=others, callbacks=await _callbacks(session, customer, phones),
        risk_flags=_risk(customer, tickets, history), quick_actions=quick_actions(facts, customer, policy, policy_number),
        search_keys=[] if customer is not None else list(SEARCH_KEYS))


async def search(directory: CustomerDirectory, q: ScreenPopSearch) -> list[CustomerRecord]:
    return await directory.search(CustomerQuery(phone=q.phone, id_number=q.id_number, policy_number=q.policy_number,
                                                plate_number=q.plate, limit=q.limit))
