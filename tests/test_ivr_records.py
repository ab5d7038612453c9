"""What the IVR learns and leaves behind: its lookups on the platform's data (DatabaseServices), and the
IVR sessions and callback requests the backend's consumer records from its events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.auth.permissions import Role
from backend.callbacks.models import CallbackRequest
from backend.calls.consumer import consume_once
from backend.calls.ivr_models import IvrSessionRecord
from backend.core.events import IvrSessionEnded
from backend.directory.models import Customer, Policy
from backend.orgs.scope import Scope
from ivr.lookups import DatabaseServices
from tests.conftest import NOW, Stack
from tests.test_tickets import body

pytestmark = pytest.mark.stack


def _services(stack: Stack, node: str) -> DatabaseServices:
    return DatabaseServices(stack.ctx.db, stack.ctx.bus, stack.clock, node=node,
                            next_opening=lambda at: at + timedelta(hours=12))


async def _customer_and_policy(stack: Stack, org_key: str = "outlet") -> tuple[Customer, Policy]:
    org = stack.orgs[org_key]
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        policy, customer = (await s.execute(
            select(Policy, Customer).join(Customer, Customer.id == Policy.holder_id)
            .where(Customer.org_id == org.id, Customer.mobile.is_not(None), Customer.id_number.is_not(None))
            .order_by(Policy.id).limit(1))).one()
        return customer, policy


async def test_given_a_known_caller_when_looked_up_then_the_facts_name_the_customer(stack: Stack) -> None:
    customer, _ = await _customer_and_policy(stack)
    facts = await _services(stack, "pbx1").customer_by_phone(customer.mobile)  # type: ignore[arg-type]
    assert facts is not None and facts.customer_id == customer.id and facts.org_id == customer.org_id
    assert await _services(stack, "pbx1").customer_by_phone("13000000000") is None
    assert await _services(stack, "pbx1").customer_by_phone("not a number") is None


async def test_given_a_policy_number_when_looked_up_then_status_and_holder_id_digits_come_back(stack: Stack) -> None:
    customer, policy = await _customer_and_policy(stack)
    facts = await _services(stack, "pbx1").policy_by_number(policy.policy_number.lower())
    assert facts is not None and facts.policy_id == policy.id and facts.customer_id == customer.id
    assert facts.holder_id_last4 == customer.id_number[-4:].upper()  # type: ignore[index]
    assert facts.in_force == (policy.status in ("in_force", "cooling_off"))
    assert await _services(stack, "pbx1").policy_by_number("NO-SUCH-POLICY") is None
    # what a keypad can enter: the digits, without the letter prefix
    digits = "".join(c for c in policy.policy_number if c.isdigit())
    by_digits = await _services(stack, "pbx1").policy_by_number(digits)
    assert by_digits is not None and by_digits.policy_id == policy.id
    assert await _services(stack, "pbx1").policy_by_number(digits[:4]) is None  # too short to mean one policy


async def test_given_plate_digits_when_looked_up_then_only_an_unambiguous_plate_is_found(stack: Stack) -> None:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        plates = list(await s.scalars(select(Policy.plate_number).where(Policy.plate_number.is_not(None))))
    ends = [p[-5:] for p in plates]  # type: ignore[index]
    unique = next(p for p, end in zip(plates, ends, strict=True) if end.isdigit() and ends.count(end) == 1)
    found = await _services(stack, "pbx1").policy_by_plate(unique[-5:])  # type: ignore[index]
    assert found is not None and found.plate_number == unique
    assert (await _services(stack, "pbx1").policy_by_plate(unique)).plate_number == unique  # type: ignore[union-attr]
    assert await _services(stack, "pbx1").policy_by_plate("12") is None


async def test_given_complaint_calls_within_the_window_when_checked_then_the_caller_is_a_repeat_complainant(
        stack: Stack) -> None:
    node, phone = f"pbx-{uuid.uuid4().hex[:6]}", f"139{uuid.uuid4().int % 10**8:08d}"
    services = _services(stack, node)
    assert not await services.repeat_complainant(phone, days=30)
    for days_ago, service in ((40, "投诉"), (3, "咨询")):
        await stack.ctx.bus.publish(IvrSessionEnded(
            call_id=f"{node}.{days_ago}", caller=phone, flow="default", outcome="queued", service=service,
            queue="complaints", started_at=NOW - timedelta(days=days_ago),
            ended_at=NOW - timedelta(days=days_ago) + timedelta(seconds=40)), node=node)
    await consume_once(stack.ctx)
    assert not await services.repeat_complainant(phone, days=30)  # one too old, one not a complaint
    await stack.ctx.bus.publish(IvrSessionEnded(
        call_id=f"{node}.1", caller=phone, flow="default", outcome="queued", service="投诉", queue="complaints",
        started_at=NOW - timedelta(days=1), ended_at=NOW - timedelta(days=1)), node=node)
    await consume_once(stack.ctx)
    assert await services.repeat_complainant(phone, days=30)


async def test_given_a_complaint_ticket_on_record_when_checked_then_the_caller_is_a_repeat_complainant(
        stack: Stack) -> None:
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    services = _services(stack, "pbx1")
    assert not await services.repeat_complainant(phone, days=30)
    consultation = await stack.post(stack.users[(Role.agent, "outlet")], "/api/tickets",
                                    json=body("consultation", caller_phone=phone))
    assert consultation.status_code == 201 and not await services.repeat_complainant(phone, days=30)
    registered = await stack.post(stack.users[(Role.agent, "branch")], "/api/tickets",
                                  json=body("complaint", caller_phone=phone))
    assert registered.status_code == 201, registered.text
    assert await services.repeat_complainant(phone, days=30)


async def test_given_an_ivr_session_event_when_consumed_then_it_is_stored_once_in_the_customers_org(
        stack: Stack) -> None:
    customer, _ = await _customer_and_policy(stack)
    node = f"pbx-{uuid.uuid4().hex[:6]}"
    path = ({"node": "welcome", "type": "play", "at_ms": 0, "duration_ms": 2000},
            {"node": "main", "type": "menu", "at_ms": 2000, "duration_ms": 3000, "digits": "2"})
    event = IvrSessionEnded(call_id=f"{node}.9", caller=customer.mobile, flow="default", outcome="queued",
                            service="投诉", queue="complaints", priority=9, customer_id=customer.id,
                            variables={"IVR_QUEUE": "complaints"}, path=path, started_at=NOW,
                            ended_at=NOW + timedelta(seconds=5))
    await stack.ctx.bus.publish(event, node=node)
    await consume_once(stack.ctx)
    await consume_once(stack.ctx)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        rows = list(await s.scalars(select(IvrSessionRecord).where(IvrSessionRecord.node == node)))
    assert len(rows) == 1 and rows[0].org_id == customer.org_id and rows[0].steps == 2
    assert rows[0].duration_seconds == 5 and rows[0].path[1]["digits"] == "2"

    lead = stack.users[(Role.team_lead, "outlet")]
    seen = await stack.get(lead, "/api/ivr-sessions", params={"call_id": f"{node}.9"})
    assert seen.status_code == 200 and len(seen.json()) == 1 and "*" in seen.json()[0]["caller"]
    other = await stack.get(stack.users[(Role.org_manager, "branch")], "/api/ivr-sessions",
                            params={"call_id": f"{node}.9"})
    assert other.status_code == 200 and len(other.json()) == 1
    agent = await stack.get(stack.users[(Role.agent, "outlet")], "/api/ivr-sessions")
    assert agent.status_code == 403


async def test_given_an_out_of_hours_callback_when_recorded_then_a_pending_request_is_due_at_the_next_opening(
        stack: Stack) -> None:
    customer, _ = await _customer_and_policy(stack)
    node = f"pbx-{uuid.uuid4().hex[:6]}"
    await _services(stack, node).record_callback(phone=customer.mobile, service="报案", call_id=f"{node}.5",
                                                 flow="default")
    await consume_once(stack.ctx)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        [row] = list(await s.scalars(select(CallbackRequest).where(CallbackRequest.node == node)))
    assert (row.status, row.service, row.customer_id, row.org_id) == ("pending", "报案", customer.id, customer.org_id)
    assert row.due_at == NOW + timedelta(hours=12)
    listed = await stack.get(stack.users[(Role.campaign_manager, "hq")], "/api/callback-requests",
                             params={"status": "pending"})
    assert listed.status_code == 200 and any(c["call_id"] == f"{node}.5" for c in listed.json())
    assert (await stack.get(stack.users[(Role.campaign_manager, "hq")], "/api/callback-requests",
                            params={"status": "bogus"})).status_code == 422


async def test_given_a_call_that_went_through_the_ivr_when_its_record_is_read_then_the_ivr_path_comes_with_it(
        stack: Stack) -> None:
    from backend.calls.models import CallRecord
    from backend.core.events import CallEnded

    node = f"pbx-{uuid.uuid4().hex[:6]}"
    call_id = f"{node}.77"
    await stack.ctx.bus.publish(IvrSessionEnded(
        call_id=call_id, caller="13912345678", flow="default", outcome="queued", service="咨询",
        queue="consultation", path=({"node": "welcome", "type": "play"}, {"node": "main_menu", "type": "menu"}),
        started_at=NOW, ended_at=NOW + timedelta(seconds=12)), node=node)
    await stack.ctx.bus.publish(CallEnded(
        call_id=call_id, direction="inbound", caller="13912345678", answered=False, abandoned=True,
        queue="consultation", duration_seconds=40.0, started_at=NOW, ended_at=NOW + timedelta(seconds=40)), node=node)
    await consume_once(stack.ctx)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        record_id = await s.scalar(select(CallRecord.id).where(CallRecord.node == node))
    ticket = await stack.post(stack.users[(Role.agent, "hq")], "/api/tickets",
                              json=body("consultation", call_id=call_id, node=node))
    assert ticket.status_code == 201, ticket.text
    r = await stack.get(stack.users[(Role.auditor, "hq")], f"/api/calls/{record_id}")
    assert r.status_code == 200, r.text
    [path] = r.json()["ivr_sessions"]
    assert path["service"] == "咨询" and [s["node"] for s in path["path"]] == ["welcome", "main_menu"]
    assert path["caller"] == "13912345678"  # the auditor sees numbers in clear (audited)
    assert [t["number"] for t in r.json()["tickets"]] == [ticket.json()["number"]]
