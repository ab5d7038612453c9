"""Random input at the write and search endpoints: every answer is a 2xx or a 4xx problem, never a 500.

Runs synchronously through Starlette's TestClient (the app on its own loop in a thread), because
Hypothesis drives plain functions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from backend.app import create_app
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.settings import Settings
from backend.migrations import upgrade
from backend.seed.builder import seed

PASSWORD = "Fuzz@Lianluo1"
OK = {200, 201}
REFUSED = {400, 401, 403, 404, 409, 413, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
customer_like = st.fixed_dictionaries({}, optional={
    "org_id": st.integers(-3, 60) | st.text(max_size=5), "name": st.text(max_size=70) | st.integers(),
    "mobile": st.text("0123456789+- ", max_size=16), "phone": st.text("0123456789-", max_size=14),
    "id_number": st.text("0123456789Xx", max_size=19), "gender": st.sampled_from(["M", "F", "X", ""]),
    "email": st.text(max_size=30), "address": st.text(max_size=300),
})


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(data_dir=data_dir, secret_key="fuzz-signing-key-0123456789abcdef", max_body_bytes=4096)
    upgrade(settings_.effective_database_url)

    async def prepare() -> None:
        db = Database(settings_.effective_database_url)
        await seed(db, seed=3, customers=60, policies=100, password=PASSWORD, as_of=date(2026, 11, 1))
        await db.dispose()

    asyncio.run(prepare())
    with TestClient(create_app(AppContext.from_settings(settings_))) as c:
        token = c.post("/api/auth/login", json={"username": "agent_bj", "password": PASSWORD}).json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _check(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code in OK | REFUSED, (r.status_code, r.text[:300])
    if r.status_code in REFUSED:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]


fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(body=json_values | customer_like)
def test_given_any_json_when_registering_customer_then_created_or_refused_cleanly(client: TestClient, body) -> None:  # type: ignore[no-untyped-def]
    _check(client.post("/api/customers", json=body))


@fuzz
@given(raw=st.binary(max_size=300))
def test_given_any_bytes_when_posting_then_refused_cleanly(client: TestClient, raw: bytes) -> None:
    r = client.post("/api/customers", content=raw, headers={"content-type": "application/json"})
    _check(r)
    assert r.status_code != 201 or json.loads(raw)  # only a real JSON object can create anything


@fuzz
@given(params=st.dictionaries(st.sampled_from(["phone", "id_number", "policy_number", "plate_number", "name",
                                               "limit", "other"]), st.text(max_size=25), max_size=3))
def test_given_any_query_when_searching_then_results_or_refused_cleanly(client: TestClient, params) -> None:  # type: ignore[no-untyped-def]
    _check(client.get("/api/customers", params=params))


@fuzz
@given(raw_id=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_given_any_id_when_reading_customer_or_policy_then_found_or_404(client: TestClient, raw_id: str) -> None:
    path = quote(raw_id, safe="")
    _check(client.get(f"/api/customers/{path}"))
    _check(client.get(f"/api/policies/{path}"))


ACTIONS = ["transfer", "escalate", "return", "reply", "close", "reopen", "withdraw", "countersign", "sign", "propose",
           "approve", "reject", "extend", "appraisal", "merge", "supervise", "urge", "submit", "remind", "nonsense"]
action_like = st.fixed_dictionaries({"action": st.sampled_from(ACTIONS) | st.text(max_size=8)}, optional={
    "version": st.integers(-2, 5) | st.text(max_size=3), "opinion": st.text(max_size=50) | st.none(),
    "work_item_id": st.integers(-1, 10**13), "target_org_id": st.integers(-1, 10**13) | st.text(max_size=4),
    "target_user_id": st.integers(-1, 60), "target_org_ids": st.lists(st.integers(-1, 60), max_size=25),
    "reply": json_values | st.fixed_dictionaries({"method": st.sampled_from(["phone", "sms", "x"]),
                                                  "told_at": st.text(max_size=30)}),
    "withdrawn_at": st.text(max_size=30), "merge_into_ticket_id": st.integers(-1, 10**13),
    "appraisal_from": st.text(max_size=12) | st.dates().map(str), "appraisal_to": st.dates().map(str),
    "customer_told": st.booleans() | st.text(max_size=3), "attachment_ids": st.lists(st.integers(-1, 9), max_size=3),
})


@pytest.fixture(scope="module")
def ticket_id(client: TestClient) -> int:
    r = client.post("/api/tickets", json={"type": "consultation", "subject": "咨询退保手续", "caller_phone": "13800138000",
                                          "submit": True})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@fuzz
@given(body=action_like | json_values)
def test_given_any_action_when_acting_on_a_ticket_then_done_or_refused_cleanly(client: TestClient, ticket_id: int,
                                                                               body) -> None:  # type: ignore[no-untyped-def]
    _check(client.post(f"/api/tickets/{ticket_id}/actions", json=body))


@fuzz
@given(params=st.dictionaries(st.sampled_from(["q", "status", "type", "received_from", "received_to", "org_id",
                                               "subtree", "cause", "limit", "cursor", "sort", "due_state"]),
                              st.text(max_size=25), max_size=4))
def test_given_any_query_when_searching_tickets_then_results_or_refused_cleanly(client: TestClient, params) -> None:  # type: ignore[no-untyped-def]
    _check(client.get("/api/tickets/search", params=params))
