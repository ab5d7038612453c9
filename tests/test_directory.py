"""Customer directory through the API: lookups, PII masking and its audit, bad input."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from backend.auth.permissions import Role
from backend.directory.models import Claim, Customer, Policy
from backend.orgs.scope import Scope
from tests.conftest import Stack


async def _a_customer_with_policy(stack: Stack) -> tuple[Customer, Policy]:
    async with stack.ctx.db.session(scope=Scope.subtree(stack.orgs["outlet"].path)) as s:
        row = (await s.execute(
            select(Customer, Policy).join(Policy, Policy.holder_id == Customer.id)
            .where(Customer.id_number.is_not(None), Customer.org_id == stack.orgs["outlet"].id)
            .order_by(Customer.id).limit(1)
        )).first()
    assert row is not None
    return row[0], row[1]


async def test_given_caller_number_when_agent_looks_up_then_customer_found_with_masked_pii(stack: Stack) -> None:
    customer, _ = await _a_customer_with_policy(stack)
    agent = stack.users[(Role.agent, "branch")]
    r = await stack.get(agent, "/api/customers", params={"phone": f"+86 {customer.mobile}"})
    assert r.status_code == 200
    [found] = [c for c in r.json() if c["id"] == str(customer.id)]
    assert found["name"] == customer.name
    assert found["mobile"] == customer.mobile[:3] + "****" + customer.mobile[-4:]
    assert found["id_number"] == customer.id_number[:6] + "********" + customer.id_number[-4:]
    assert customer.id_number not in r.text and customer.mobile not in r.text


async def test_given_id_number_policy_number_or_plate_when_searching_then_same_customer(stack: Stack) -> None:
    customer, policy = await _a_customer_with_policy(stack)
    agent = stack.users[(Role.agent, "hq")]
    for params in ({"id_number": customer.id_number.lower()}, {"policy_number": policy.policy_number}):
        r = await stack.get(agent, "/api/customers", params=params)
        assert r.status_code == 200, r.text
        assert str(customer.id) in {c["id"] for c in r.json()}, params
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        motor = await s.scalar(select(Policy).where(Policy.plate_number.is_not(None)).limit(1))
    r = await stack.get(agent, "/api/customers", params={"plate_number": motor.plate_number})
    assert str(motor.holder_id) in {c["id"] for c in r.json()}


async def test_given_customer_when_reading_policies_and_claims_then_labels_and_links_are_filled(stack: Stack) -> None:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        claim = await s.scalar(select(Claim).order_by(Claim.id).limit(1))
    agent = stack.users[(Role.agent, "hq")]
    policies = (await stack.get(agent, f"/api/customers/{claim.claimant_id}/policies")).json()
    assert policies and all(p["line_label"] and p["status_label"] and p["payment_frequency_label"] for p in policies)
    claims = (await stack.get(agent, f"/api/customers/{claim.claimant_id}/claims")).json()
    assert claim.claim_number in {c["claim_number"] for c in claims}
    one = (await stack.get(agent, f"/api/claims/{claim.claim_number}")).json()
    assert one["policy_number"] and one["status_label"]


async def test_given_role_with_unmask_right_when_viewing_then_clear_text_and_audited(stack: Stack) -> None:
    customer, _ = await _a_customer_with_policy(stack)
    handler = stack.users[(Role.complaint_handler, "branch")]
    r = await stack.get(handler, f"/api/customers/{customer.id}")
    assert r.status_code == 200
    assert r.json()["id_number"] == customer.id_number
    assert r.json()["mobile"] == customer.mobile

    audit = await stack.get(stack.users[(Role.auditor, "hq")], "/api/audit",
                            params={"action": "pii.view", "subject_id": str(customer.id)})
    rows = [a for a in audit.json() if a["username"] == handler]
    assert rows, "unmasked view was not audited"
    assert set(rows[0]["detail"]["subjects"][str(customer.id)]) >= {"id_number", "mobile"}


async def test_given_role_without_unmask_right_when_viewing_then_nothing_audited(stack: Stack) -> None:
    customer, _ = await _a_customer_with_policy(stack)
    agent = stack.users[(Role.agent, "outlet")]
    assert (await stack.get(agent, f"/api/customers/{customer.id}")).status_code == 200
    audit = await stack.get(stack.users[(Role.auditor, "hq")], "/api/audit",
                            params={"action": "pii.view", "subject_id": str(customer.id)})
    assert not [a for a in audit.json() if a["username"] == agent]


async def test_given_branch_auditor_when_reading_audit_log_then_only_its_subtree(stack: Stack) -> None:
    r = await stack.get(stack.users[(Role.auditor, "branch")], "/api/audit", params={"limit": 1000})
    assert r.status_code == 200
    branch_path = stack.orgs["branch"].path
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        from backend.orgs.models import Org

        paths = dict((await s.execute(select(Org.id, Org.path))).all())
    assert all(paths[a["org_id"]].startswith(branch_path) for a in r.json())


# --- bad input: clear 4xx problem details, nothing written


async def _customer_count(stack: Stack) -> int:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return await s.scalar(select(func.count()).select_from(Customer))


def _is_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("urn:lianluo:")
    return body


async def test_given_invalid_id_number_or_phone_when_registering_then_422_and_nothing_written(stack: Stack) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    org_id = stack.orgs["outlet"].id
    before = await _customer_count(stack)
    bad_checksum = "11010519491231002" + "0"  # valid shape and date, wrong check digit (should be X)
    cases = [
        ({"org_id": org_id, "name": "张三", "mobile": "13800138000", "id_number": bad_checksum}, "校验位"),
        ({"org_id": org_id, "name": "张三", "mobile": "13800138000", "id_number": "110105194913310021"}, "出生日期"),
        ({"org_id": org_id, "name": "张三", "mobile": "1380013800"}, "电话号码"),
        ({"org_id": org_id, "name": "张三", "mobile": "23800138000"}, "电话号码"),
        ({"org_id": org_id, "name": "张三"}, "联系电话"),
    ]
    for payload, words in cases:
        body = _is_problem(await stack.post(agent, "/api/customers", json=payload), 422)
        assert words in body["detail"], body
    assert await _customer_count(stack) == before


async def test_given_malformed_json_wrong_types_or_unknown_fields_when_posting_then_4xx(stack: Stack) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    headers = {**await stack.as_user(agent), "content-type": "application/json"}
    before = await _customer_count(stack)
    body = _is_problem(await stack.client.post("/api/customers", content=b'{"name": "x",', headers=headers), 400)
    assert "JSON" in body["title"]
    _is_problem(await stack.post(agent, "/api/customers", json={"org_id": "abc", "name": "x", "mobile": "13800138000"}), 422)
    _is_problem(await stack.post(agent, "/api/customers", json=["not", "an", "object"]), 422)
    _is_problem(await stack.post(agent, "/api/customers", json={"org_id": 1, "name": "x", "mobile": "13800138000",
                                                                 "is_admin": True}), 422)
    _is_problem(await stack.client.post("/api/auth/login", json={"username": 5}), 422)
    assert await _customer_count(stack) == before


async def test_given_body_over_the_limit_when_posting_then_413_and_service_keeps_serving(stack: Stack) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    headers = {**await stack.as_user(agent), "content-type": "application/json"}
    big = json.dumps({"org_id": 1, "name": "x" * (stack.ctx.settings.max_body_bytes + 10), "mobile": "13800138000"})
    _is_problem(await stack.client.post("/api/customers", content=big.encode(), headers=headers), 413)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(stack.ctx.settings.max_body_bytes // 1000 + 5):
            yield b" " * 1000

    # streamed without Content-Length: counted as it arrives
    _is_problem(await stack.client.post("/api/customers", content=chunks(), headers=headers), 413)
    assert (await stack.client.get("/healthz")).status_code == 200


async def test_given_bad_query_values_when_searching_then_422_naming_the_field(stack: Stack) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    body = _is_problem(await stack.get(agent, "/api/customers", params={"id_number": "123"}), 422)
    assert body["errors"][0]["field"] == "id_number"
    _is_problem(await stack.get(agent, "/api/customers", params={"plate_number": "ABC"}), 422)
    _is_problem(await stack.get(agent, "/api/customers"), 422)
    _is_problem(await stack.get(agent, "/api/customers", params={"phone": "13800138000", "limit": 5000}), 422)


async def test_given_id_number_when_registering_then_birth_date_and_gender_come_from_it(stack: Stack) -> None:
    handler = stack.users[(Role.complaint_handler, "outlet")]
    # the POST needs customer.write: register as an agent, read back as a handler who sees it in clear
    r = await stack.post(stack.users[(Role.agent, "outlet")], "/api/customers", json={
        "org_id": stack.orgs["outlet"].id, "name": "身份证客户", "mobile": "13912340000",
        "id_number": "11010519491231002X"})
    assert r.status_code == 201, r.text
    got = (await stack.get(handler, f"/api/customers/{r.json()['id']}")).json()
    assert got["birth_date"] == "1949-12-31" and got["gender"] == "F"  # sequence 002: even, female


async def test_given_valid_new_customer_when_registering_then_created_and_found_by_phone(stack: Stack) -> None:
    agent = stack.users[(Role.agent, "outlet")]
    r = await stack.post(agent, "/api/customers", json={
        "org_id": stack.orgs["outlet"].id, "name": "新来电客户", "mobile": "139 0000 1234", "gender": "F"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["mobile"] == "139****1234"
    found = await stack.get(agent, "/api/customers", params={"phone": "13900001234"})
    assert created["id"] in {c["id"] for c in found.json()}
    patched = await stack.client.patch(f"/api/customers/{created['id']}", json={"phone": "010-62345678"},
                                       headers=await stack.as_user(agent))
    assert patched.status_code == 200 and patched.json()["phone"] == "010-****5678"


async def test_given_audit_write_fails_when_viewing_unmasked_then_500_and_no_pii_leaves(
    stack: Stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The request's transaction commits before the response is sent: no audit row, no clear text."""
    from backend.audit import pii
    from backend.audit.models import AuditRecord

    async def broken_record(session, actor, **kw):  # type: ignore[no-untyped-def]
        row = AuditRecord(at=stack.clock.now(), username=None, action=kw["action"], org_id=actor.org_id, detail={})
        session.add(row)  # NOT NULL username: fails at commit
        return row

    customer, _ = await _a_customer_with_policy(stack)
    handler = stack.users[(Role.complaint_handler, "hq")]
    headers = await stack.as_user(handler)
    monkeypatch.setattr(pii, "record", broken_record)
    # as a real server does: the app's error is logged, the client sees only the response
    transport = httpx.ASGITransport(app=stack.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lianluo.test") as client:
        r = await client.get(f"/api/customers/{customer.id}", headers=headers)
    assert r.status_code == 500
    assert customer.id_number not in r.text and customer.mobile not in r.text
