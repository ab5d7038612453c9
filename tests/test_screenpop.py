"""The screen pop: a caller's whole picture (IVR path, directory, tickets, callbacks, risk flags) and the quick
actions, masked or audited as the role requires, within the agent's subtree; the unknown caller's search box.

Every test makes its own customer, phone numbers, plates and policy numbers, so rows other tests left behind
never count.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backend.auth.models import User
from backend.auth.permissions import Role
from backend.auth.principal import Principal
from backend.callbacks.models import CallbackRequest
from backend.calls.consumer import consume_once
from backend.calls.models import AgentStateRecord, CallRecord
from backend.core.events import IvrSessionEnded
from backend.directory.models import Claim, Customer, Policy
from backend.directory.sql import SqlDirectory
from backend.orgs.scope import Scope
from backend.screenpop import services
from backend.screenpop.schemas import ScreenPopQuery
from backend.tickets.models import Ticket
from tests.conftest import NOW, Stack
from tests.test_tickets import body, id_number, phone

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class Caller:
    customer_id: int
    name: str
    mobile: str
    id_number: str
    motor_policy: str
    life_policy: str
    plate: str
    open_claim: str
    paid_claim: str
    org_id: int


def masked_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:]


def masked_id(value: str) -> str:
    return value[:6] + "********" + value[-4:]


def _plate() -> str:
    return "沪" + random.choice(PLATE_LETTERS) + "".join(random.choices("0123456789", k=4)) + random.choice(PLATE_LETTERS)


async def make_caller(stack: Stack, org_key: str = "outlet", risk_flags: tuple[str, ...] = ()) -> Caller:
    """A customer with a motor and a life policy, an open and a paid claim, and a pending callback request."""
    org = stack.orgs[org_key]
    tag = uuid.uuid4().int
    mobile, idn, plate = phone(), id_number(), _plate()
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        customer = Customer(org_id=org.id, name=f"弹屏{tag % 10**6:06d}", gender="M", birth_date=date(1980, 1, 1),
                            id_number=idn, mobile=mobile, risk_flags=list(risk_flags), created_at=NOW, updated_at=NOW)
        s.add(customer)
        await s.flush()
        policies = []
        for line, status, extra in (("motor", "in_force", {"plate_number": plate}), ("life", "lapsed", {})):
            policy = Policy(org_id=org.id, policy_number=f"SP{line[0].upper()}{tag % 10**12:012d}", line=line,
                            product_name="机动车商业保险" if line == "motor" else "终身寿险", status=status,
                            holder_id=customer.id, insured_id=customer.id, signed_date=date(2026, 1, 1),
                            effective_date=date(2026, 1, 2), expiry_date=date(2027, 1, 1), premium=Decimal("3000"),
                            sum_insured=Decimal("500000"), payment_frequency="annual", payment_years=1,
                            created_at=NOW, **extra)
            s.add(policy)
            policies.append(policy)
        await s.flush()
        claims = []
        for kind, status, days in (("O", "surveying", 2), ("P", "paid", 200)):
            claim = Claim(org_id=org.id, claim_number=f"SC{kind}{tag % 10**12:012d}", policy_id=policies[0].id,
                          claimant_id=customer.id, status=status, accident_at=NOW - timedelta(days=days + 1),
                          reported_at=NOW - timedelta(days=days),
                          closed_at=NOW - timedelta(days=days - 30) if status == "paid" else None, cause="碰撞")
            s.add(claim)
            claims.append(claim)
        s.add(CallbackRequest(org_id=org.id, phone=mobile, service="咨询", customer_id=customer.id, node="pbx1",
                              call_id=f"cb-{tag % 10**12}", flow="default", requested_at=NOW - timedelta(hours=12),
                              due_at=NOW + timedelta(hours=1), status="pending", bus_event_id=f"cb-{tag % 10**12}"))
    return Caller(customer.id, customer.name, mobile, idn, policies[0].policy_number, policies[1].policy_number,
                  plate, claims[0].claim_number, claims[1].claim_number, org.id)


async def ivr_session(stack: Stack, caller: Caller | None, *, caller_phone: str | None = None,
                      policy: str | None = None) -> tuple[str, str]:
    """Publish the IVR session of a new inbound call (报案, policy entered) and let the consumer store it."""
    node, call_id = f"pbx-{uuid.uuid4().hex[:6]}", f"{random.randint(10**9, 10**10)}.{random.randint(1, 999)}"
    variables = {"IVR_CHOICE": "1", "IVR_SERVICE": "报案", "IVR_QUEUE": "claims"}
    if caller is not None:
        variables["IVR_CUSTOMER_ID"] = str(caller.customer_id)
    if policy:
        variables["IVR_POLICY"] = policy
    path = ({"node": "welcome", "type": "play", "at_ms": 0, "duration_ms": 2000},
            {"node": "main_menu", "type": "menu", "at_ms": 2000, "duration_ms": 3000, "digits": "1"},
            {"node": "claim_policy", "type": "collect", "at_ms": 5000, "duration_ms": 6000, "digits": "1234567"})
    await stack.ctx.bus.publish(IvrSessionEnded(
        call_id=call_id, caller=caller_phone or (caller.mobile if caller else None), flow="default",
        outcome="queued", service="报案", queue="claims", priority=8,
        customer_id=caller.customer_id if caller else None, variables=variables, path=path,
        started_at=NOW - timedelta(seconds=20), ended_at=NOW - timedelta(seconds=9)), node=node)
    await consume_once(stack.ctx)
    return node, call_id


async def agent(stack: Stack, role: Role = Role.agent, org: str = "outlet") -> str:
    return await stack.add_user(f"sp_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def pop(stack: Stack, username: str, **params: Any) -> dict[str, Any]:
    r = await stack.get(username, "/api/screen-pop", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def register_history(stack: Stack, username: str, caller: Caller) -> dict[str, str]:
    """A complaint with risk words, a recent and an old consultation, each registered through the API."""
    made = {}
    for key, kind, extra in (
            ("complaint", "complaint", {"subject": "要求代理退保，否则向媒体曝光", "policy_number": caller.motor_policy}),
            ("consultation", "consultation", {"subject": "咨询保单续保"}),
            ("old_consultation", "consultation", {"subject": "咨询理赔材料",
                                                  "received_at": (NOW - timedelta(days=45)).isoformat()})):
        r = await stack.post(username, "/api/tickets",
                             json=body(kind, caller_phone=caller.mobile, customer_id=caller.customer_id, **extra))
        assert r.status_code == 201, r.text
        made[key] = r.json()["number"]
    return made


# --- a known caller


async def test_given_a_known_caller_when_an_agent_pops_then_the_whole_picture_is_there_masked(stack: Stack) -> None:
    caller = await make_caller(stack, risk_flags=("regulator_words",))
    user = await agent(stack)
    made = await register_history(stack, user, caller)
    p = await pop(stack, user, phone=caller.mobile)
    assert (p["known"], p["matched_by"], p["search_keys"]) == (True, "phone", [])
    customer = p["customer"]
    assert (customer["id"], customer["name"]) == (str(caller.customer_id), caller.name)
    assert customer["mobile"] == masked_phone(caller.mobile) and customer["id_number"] == masked_id(caller.id_number)
    assert p["caller"] == masked_phone(caller.mobile)
    assert caller.mobile not in str(p) and caller.id_number not in str(p)
    assert {x["policy_number"]: x["status_label"] for x in p["policies"]} == {
        caller.motor_policy: "有效", caller.life_policy: "失效"}
    assert [c["claim_number"] for c in p["claims"]] == [caller.open_claim, caller.paid_claim]  # open first
    [complaint] = p["complaints"]
    assert (complaint["number"], complaint["type_label"], complaint["status"], complaint["due_state"]) == (
        made["complaint"], "消费投诉", "open", "normal")
    assert complaint["decision_due_at"] is not None and complaint["policy_number"] == caller.motor_policy
    assert [c["number"] for c in p["consultations"]] == [made["consultation"]]  # the 45-day-old one is not recent
    [callback] = p["callbacks"]
    assert (callback["status"], callback["phone"]) == ("pending", masked_phone(caller.mobile))
    flags = {f["code"]: f["source"] for f in p["risk_flags"]}
    assert flags["regulator_words"] == "customer"
    assert flags["agency_surrender"] == "tickets" and flags["risk_words"] == "tickets"
    assert flags["repeat"] == "history"  # contacts within 30 days, as the tickets module counts them
    assert all(f["label"] for f in p["risk_flags"])


async def test_given_a_role_with_unmask_right_when_popping_then_clear_text_and_audited(stack: Stack) -> None:
    caller = await make_caller(stack)
    handler = await agent(stack, Role.complaint_handler)
    p = await pop(stack, handler, phone=caller.mobile)
    assert p["customer"]["mobile"] == caller.mobile and p["customer"]["id_number"] == caller.id_number
    assert p["caller"] == caller.mobile and p["callbacks"][0]["phone"] == caller.mobile
    assert p["quick_actions"][0]["prefill"]["complainant_id_number"] == caller.id_number
    audit = await stack.get(stack.users[(Role.auditor, "hq")], "/api/audit",
                            params={"action": "pii.view", "subject_id": str(caller.customer_id), "limit": 1000})
    assert audit.status_code == 200, audit.text
    rows = [a for a in audit.json() if a["username"] == handler and a["subject_type"] == "customer"]
    assert rows and "id_number" in str(rows[0]["detail"])
    plain = await agent(stack)
    await pop(stack, plain, phone=caller.mobile)
    audit = await stack.get(stack.users[(Role.auditor, "hq")], "/api/audit",
                            params={"action": "pii.view", "subject_id": str(caller.customer_id), "limit": 1000})
    assert not [a for a in audit.json() if a["username"] == plain]  # masked views are not audited


async def test_given_a_call_with_an_ivr_session_when_popped_then_choices_and_entered_policy_are_shown(
        stack: Stack) -> None:
    caller = await make_caller(stack)
    node, call_id = await ivr_session(stack, caller, policy=caller.motor_policy)
    handler = await agent(stack, Role.complaint_handler)
    p = await pop(stack, handler, call_id=call_id)  # no number given: the IVR session has it
    assert (p["call_id"], p["node"], p["caller"], p["matched_by"]) == (call_id, node, caller.mobile, "ivr")
    ivr = p["ivr"]
    assert (ivr["source"], ivr["service"], ivr["choice"], ivr["policy_number"], ivr["queue"]) == (
        "ivr_session", "报案", "1", caller.motor_policy, "claims")
    assert [step["node"] for step in ivr["path"]] == ["welcome", "main_menu", "claim_policy"]
    assert p["chosen_policy_number"] == caller.motor_policy
    actions = {a["action"]: a["prefill"] for a in p["quick_actions"]}
    assert set(actions) == {"new_complaint", "new_claim_report", "new_consultation"}
    for kind, prefill in zip(("complaint", "claim_report", "consultation"), actions.values(), strict=True):
        assert (prefill["type"], prefill["channel"], prefill["call_id"], prefill["node"]) == (
            kind, "hotline", call_id, node)
        assert (prefill["customer_id"], prefill["policy_number"], prefill["caller_phone"]) == (
            caller.customer_id, caller.motor_policy, caller.mobile)
        assert (prefill["complainant_name"], prefill["complainant_phone"], prefill["complainant_id_number"]) == (
            caller.name, caller.mobile, caller.id_number)
    assert actions["new_claim_report"]["details"] == {"plate": caller.plate, "reporter_name": caller.name,
                                                      "reporter_phone": caller.mobile}
    assert actions["new_complaint"]["details"] == {"line_of_business": "motor"}
    # The prefill is a ticket body: completed and submitted, the ticket is linked to the call.
    complaint = {**actions["new_complaint"], "subject": "理赔太慢", "submit": True,
                 "details": {**actions["new_complaint"]["details"], "cause": "claims"}}
    r = await stack.post(handler, "/api/tickets", json=complaint)
    assert r.status_code == 201, r.text
    assert (r.json()["call_id"], r.json()["node"], r.json()["customer_id"]) == (call_id, node, caller.customer_id)
    again = await pop(stack, handler, call_id=call_id)
    assert r.json()["number"] in {c["number"] for c in again["complaints"]}


async def test_given_the_agent_chooses_another_policy_when_popped_then_prefills_follow_it(stack: Stack) -> None:
    caller = await make_caller(stack)
    _node, call_id = await ivr_session(stack, caller, policy=caller.motor_policy)
    handler = await agent(stack, Role.complaint_handler)
    p = await pop(stack, handler, call_id=call_id, policy_number=caller.life_policy)
    actions = {a["action"]: a["prefill"] for a in p["quick_actions"]}
    assert p["chosen_policy_number"] == caller.life_policy
    assert actions["new_claim_report"]["details"] == {"reporter_name": caller.name, "reporter_phone": caller.mobile}
    assert actions["new_complaint"]["details"] == {"line_of_business": "life"}


# --- an unknown caller


async def test_given_an_unknown_caller_when_popped_then_an_empty_picture_and_the_search_box(stack: Stack) -> None:
    number = phone()
    p = await pop(stack, await agent(stack), phone=number)
    assert (p["known"], p["customer"], p["candidates"], p["matched_by"]) == (False, None, [], None)
    assert p["search_keys"] == ["phone", "id_number", "policy_number", "plate"]
    for section in ("policies", "claims", "complaints", "consultations", "other_tickets", "callbacks", "risk_flags"):
        assert p[section] == [], section
    [complaint, *_] = p["quick_actions"]
    assert complaint["prefill"]["caller_phone"] == masked_phone(number) and complaint["prefill"]["customer_id"] is None


async def test_given_an_unknown_caller_when_searching_by_each_key_then_the_customer_is_found_masked(
        stack: Stack) -> None:
    caller = await make_caller(stack)
    user = await agent(stack)
    for params in ({"phone": caller.mobile}, {"id_number": caller.id_number.lower()},
                   {"policy_number": caller.life_policy}, {"plate": caller.plate}):
        r = await stack.get(user, "/api/screen-pop/search", params=params)
        assert r.status_code == 200, (params, r.text)
        [found] = [c for c in r.json() if c["id"] == str(caller.customer_id)]
        assert found["mobile"] == masked_phone(caller.mobile), params
    chosen = await pop(stack, user, phone=phone(), customer_id=str(caller.customer_id))
    assert (chosen["known"], chosen["matched_by"], len(chosen["policies"])) == (True, "chosen", 2)


async def test_given_a_bad_search_when_sent_then_problem_details(stack: Stack) -> None:
    user = await agent(stack)
    for params in ({}, {"plate": "not a plate"}, {"id_number": "110101198001010000"}, {"name": "张三"}):
        r = await stack.get(user, "/api/screen-pop/search", params=params)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), params
    r = await stack.get(user, "/api/screen-pop")
    assert r.status_code == 422, r.text


async def test_given_a_number_shared_by_two_customers_when_popped_then_both_are_candidates(stack: Stack) -> None:
    first, second = await make_caller(stack), await make_caller(stack)
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        (await s.get(Customer, second.customer_id)).mobile = first.mobile  # type: ignore[union-attr]
    p = await pop(stack, await agent(stack), phone=first.mobile)
    assert (p["known"], p["customer"]) == (False, None)
    assert {c["id"] for c in p["candidates"]} == {str(first.customer_id), str(second.customer_id)}


# --- scoping and rights


async def test_given_a_customer_of_another_branch_when_popped_then_nothing_of_them_leaks(stack: Stack) -> None:
    elsewhere = await make_caller(stack, "other_outlet", risk_flags=("proxy_surrender",))
    other_agent = await agent(stack, org="other_outlet")
    await register_history(stack, other_agent, elsewhere)
    node, call_id = await ivr_session(stack, elsewhere, policy=elsewhere.motor_policy)
    user = await agent(stack, Role.complaint_handler)  # even in clear, nothing of theirs is shown
    for params in ({"phone": elsewhere.mobile}, {"call_id": call_id}, {"call_id": call_id, "phone": elsewhere.mobile}):
        r = await stack.get(user, "/api/screen-pop", params=params)
        assert r.status_code == 200, r.text
        p = r.json()
        assert (p["known"], p["customer"], p["candidates"], p["ivr"]) == (False, None, [], None), params
        assert all(p[k] == [] for k in ("policies", "claims", "complaints", "consultations", "callbacks"))
        for secret in (elsewhere.name, elsewhere.motor_policy, elsewhere.id_number, elsewhere.open_claim):
            assert secret not in r.text, (params, secret)
        assert {f["code"] for f in p["risk_flags"]} <= {"repeat", "prior_complaint"}  # tree-wide yes/no only
    r = await stack.get(user, "/api/screen-pop", params={"phone": phone(), "customer_id": str(elsewhere.customer_id)})
    assert r.status_code == 404 and r.json()["title"] == "客户不存在"
    r = await stack.get(user, "/api/screen-pop/search", params={"plate": elsewhere.plate})
    assert str(elsewhere.customer_id) not in {c["id"] for c in r.json()}
    # The call rings this agent: its IVR path is theirs to see, the other branch's customer still is not.
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        ringing = await s.scalar(select(User.id).where(User.username == user))
        s.add(AgentStateRecord(org_id=stack.orgs["outlet"].id, node=node, interface="PJSIP/9001", user_id=ringing,
                               state="ringing", queues=["claims"], call_id=call_id, started_at=NOW,
                               bus_event_id=f"as-{uuid.uuid4().hex}"))
    p = await pop(stack, user, call_id=call_id)
    assert p["ivr"]["service"] == "报案" and p["ivr"]["policy_number"] == elsewhere.motor_policy
    assert (p["known"], p["customer"], p["policies"]) == (False, None, [])
    assert elsewhere.name not in str(p)


async def test_given_roles_without_both_rights_when_popping_then_403(stack: Stack) -> None:
    for role in (Role.field_staff, Role.campaign_manager, Role.admin):
        r = await stack.get(stack.users[(role, "outlet")], "/api/screen-pop", params={"phone": phone()})
        assert r.status_code == 403, (role, r.text)
    r = await stack.client.get("/api/screen-pop", params={"phone": phone()})
    assert r.status_code == 401


# --- latency


async def test_given_a_known_caller_when_popped_repeatedly_then_it_stays_fast(stack: Stack) -> None:
    caller = await make_caller(stack)
    user = await agent(stack)
    await register_history(stack, user, caller)
    _node, call_id = await ivr_session(stack, caller, policy=caller.motor_policy)
    await pop(stack, user, call_id=call_id)  # warm: login, statement caches
    timings = []
    for _ in range(40):
        started = time.perf_counter()
        await pop(stack, user, call_id=call_id, phone=caller.mobile)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(f"\nscreen pop over HTTP in-process ({stack.name}, 40 pops): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    assert p50 < 150, timings  # generous for a loaded CI machine; the printed numbers are the measurement


# --- before the IVR session is stored, and after the call


async def test_given_no_stored_ivr_session_when_the_hub_pops_with_the_ringing_variables_then_they_are_used(
        stack: Stack) -> None:
    """The consumer stores IVR sessions moments after the flow ends; the ringing event's variables bridge the gap."""
    caller = await make_caller(stack)
    org = stack.orgs["outlet"]
    principal = Principal(user_id=0, username="hub", display_name="hub", org_id=org.id, org_path=org.path,
                          org_name=org.name, roles=frozenset({Role.agent}), session_id="hub")
    variables = {"IVR_CHOICE": "2", "IVR_SERVICE": "投诉", "IVR_CUSTOMER_ID": str(caller.customer_id),
                 "IVR_POLICY": caller.life_policy}
    async with stack.ctx.db.session(scope=principal.scope) as s:
        out = await services.screen_pop(s, SqlDirectory(s, stack.clock), principal, NOW,
                                        ScreenPopQuery(call_id=f"{uuid.uuid4().int % 10**9}.1"),
                                        ringing_ivr=variables, ringing_queue="complaints")
    assert out.ivr is not None and (out.ivr.source, out.ivr.service, out.ivr.choice, out.ivr.queue) == (
        "ringing", "投诉", "2", "complaints")
    assert (out.matched_by, out.chosen_policy_number) == ("ivr", caller.life_policy)
    assert out.customer is not None and out.customer.id == str(caller.customer_id)


async def test_given_a_finished_call_without_ivr_session_when_popped_then_the_call_records_path_is_shown(
        stack: Stack) -> None:
    caller = await make_caller(stack)
    user = await agent(stack)
    node, call_id = f"pbx-{uuid.uuid4().hex[:6]}", f"{uuid.uuid4().int % 10**9}.2"
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        user_id = await s.scalar(select(User.id).where(User.username == user))
        s.add(CallRecord(org_id=stack.orgs["outlet"].id, node=node, call_id=call_id, direction="inbound",
                         caller=caller.mobile, started_at=NOW - timedelta(minutes=5), ended_at=NOW,
                         duration_seconds=300.0, queue="consultation", ivr={"IVR_CHOICE": "3", "IVR_SERVICE": "咨询"},
                         agent_user_id=user_id, answered=True, transfers=[], bus_event_id=f"cr-{uuid.uuid4().hex[:20]}"))
    p = await pop(stack, user, call_id=call_id)
    assert (p["node"], p["caller"], p["matched_by"]) == (node, masked_phone(caller.mobile), "phone")
    assert (p["ivr"]["source"], p["ivr"]["service"], p["ivr"]["queue"]) == ("call_record", "咨询", "consultation")


async def test_given_a_quick_action_from_a_masked_pop_when_submitted_without_the_masked_fields_then_the_server_fills_them(
        stack: Stack) -> None:
    """An agent sees the complainant's phone and ID masked, so the console leaves them out; the ticket still
    names the complainant in full, from the customer record."""
    caller = await make_caller(stack)
    agent = stack.users[(Role.agent, "outlet")]
    r = await stack.post(agent, "/api/tickets", json={
        "type": "complaint", "subject": "理赔太慢", "caller_phone": caller.mobile, "customer_id": caller.customer_id,
        "submit": False, "details": {}})
    assert r.status_code == 201, r.text
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        ticket = await s.get(Ticket, r.json()["id"])
        assert ticket is not None
        assert (ticket.complainant_name, ticket.complainant_phone, ticket.complainant_id_number) == (
            caller.name, caller.mobile, caller.id_number)
