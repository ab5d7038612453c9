"""The HTTP directory adapter against a local stand-in for an insurer's core systems."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import SecretStr

from backend.app import create_app
from backend.auth.permissions import Role
from backend.core.context import AppContext
from tests.conftest import Stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _core_system(stack: Stack, seen: list[dict[str, Any]]) -> FastAPI:
    """A fake insurer API speaking the contract in backend/directory/http_adapter.py."""
    outlet, other = stack.orgs["outlet"].code, stack.orgs["other_outlet"].code
    customers = {
        "C-1": {"id": "C-1", "org_code": outlet, "name": "核心客户甲", "gender": "M", "id_number": "11010519491231002X",
                "mobile": "13811112222", "level": "gold", "risk_flags": ["vip"]},
        "C-2": {"id": "C-2", "org_code": other, "name": "核心客户乙", "mobile": "13811112222"},
        "C-3": {"id": "C-3", "org_code": "NO-SUCH-ORG", "name": "未知机构客户", "mobile": "13811112222"},
        "C-4": {"id": "C-4", "org_code": outlet, "mobile": "13811112222"},  # no name: breaks the contract
    }
    policy = {"id": 9001, "policy_number": "P900100000001", "org_code": outlet, "line": "medical",
              "product_name": "尊享医疗", "status": "in_force", "holder_id": "C-1", "insured_id": "C-1",
              "signed_date": "2026-01-05", "effective_date": "2026-01-06", "expiry_date": "2027-01-05",
              "premium": "1288.00", "sum_insured": "3000000.00", "payment_frequency": "annual", "payment_years": 1}
    claim = {"id": 77, "claim_number": "CLM-77", "org_code": outlet, "policy_number": "P900100000001",
             "claimant_id": "C-1", "status": "surveying", "accident_at": "2026-10-01T08:00:00+08:00",
             "reported_at": "2026-10-01T09:00:00+08:00", "cause": "住院"}
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next):  # type: ignore[no-untyped-def]
        seen.append({"path": request.url.path, "query": dict(request.query_params),
                     "auth": request.headers.get("authorization")})
        if request.url.path == "/customers/slow":
            await asyncio.sleep(2)
        if request.url.path == "/customers/broken":
            raise HTTPException(500)
        return await call_next(request)

    @app.get("/customers")
    async def search(phone: str | None = None) -> dict[str, Any]:
        return {"items": [c for c in customers.values() if c.get("mobile") == phone]}

    @app.get("/customers/{cid}")
    async def customer(cid: str) -> dict[str, Any]:
        if cid not in customers:
            raise HTTPException(404)
        return customers[cid]

    @app.get("/customers/{cid}/policies")
    async def policies(cid: str) -> dict[str, Any]:
        return {"items": [policy]}

    @app.get("/customers/{cid}/claims")
    async def claims(cid: str) -> dict[str, Any]:
        return {"items": [claim]}

    @app.get("/policies/{number}")
    async def get_policy(number: str) -> dict[str, Any]:
        if number != policy["policy_number"]:
            raise HTTPException(404)
        return policy

    @app.get("/claims/{number}")
    async def get_claim(number: str) -> dict[str, Any]:
        return claim

    return app


@pytest.fixture
async def http_stack(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, list[dict[str, Any]], str]]:
    seen: list[dict[str, Any]] = []
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(_core_system(stack, seen), host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    settings = stack.ctx.settings.model_copy(update={
        "directory_backend": "http", "directory_http_base_url": f"http://127.0.0.1:{port}/",
        "directory_http_token": SecretStr("core-token"), "directory_http_timeout": 0.5})
    ctx = AppContext(settings=settings, db=stack.ctx.db, bus=stack.ctx.bus, clock=stack.ctx.clock)
    app = create_app(ctx, own_context=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lianluo.test") as client:
        token = await stack.token(stack.users[(Role.agent, "branch")])
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, seen, f"http://127.0.0.1:{port}"
    if ctx.http is not None:
        await ctx.http.aclose()
    server.should_exit = True
    await task


async def test_given_core_system_when_searching_by_phone_then_only_scoped_valid_records_return(http_stack) -> None:  # type: ignore[no-untyped-def]
    client, seen, _ = http_stack
    r = await client.get("/api/customers", params={"phone": "138-1111-2222"})
    assert r.status_code == 200
    # C-2 is in another branch, C-3's org is unknown, C-4 breaks the contract
    assert [c["id"] for c in r.json()] == ["C-1"]
    c1 = r.json()[0]
    assert c1["org_name"] and c1["mobile"] == "138****2222" and c1["id_number"] == "110105********002X"
    assert seen[-1]["query"]["phone"] == "13811112222"  # normalised before it leaves
    assert seen[-1]["auth"] == "Bearer core-token"


async def test_given_core_system_when_reading_one_customer_policy_claim_then_mapped(http_stack) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = http_stack
    assert (await client.get("/api/customers/C-1")).json()["name"] == "核心客户甲"
    policies = (await client.get("/api/customers/C-1/policies")).json()
    assert policies[0]["line_label"] == "医疗保险" and policies[0]["status_label"] == "有效"
    assert policies[0]["payment_frequency_label"] == "年交"
    assert (await client.get("/api/policies/P900100000001")).json()["premium"] == "1288.00"
    claims = (await client.get("/api/customers/C-1/claims")).json()
    assert claims[0]["status_label"] == "查勘中"


async def test_given_out_of_scope_or_missing_records_when_fetched_then_404(http_stack) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = http_stack
    assert (await client.get("/api/customers/C-2")).status_code == 404  # other branch
    assert (await client.get("/api/customers/NOPE")).status_code == 404
    assert (await client.get("/api/customers/C-2/policies")).status_code == 404
    assert (await client.get("/api/policies/P000")).status_code == 404


async def test_given_core_system_slow_or_failing_when_called_then_503_and_app_keeps_serving(http_stack) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = http_stack
    slow = await client.get("/api/customers/slow")
    assert slow.status_code == 503 and slow.json()["detail"].startswith("核心系统")
    assert (await client.get("/api/customers/broken")).status_code == 503
    assert (await client.get("/api/customers/C-1")).status_code == 200


async def test_given_http_directory_when_registering_a_customer_then_refused_as_core_owned(http_stack) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = http_stack
    r = await client.post("/api/customers", json={"org_id": 1, "name": "甲", "mobile": "13800138000"})
    assert r.status_code == 409  # agents may write, but the core system owns customer data
    assert "核心系统" in r.json()["detail"]
