"""Directory adapter for an insurer's own policy and claims systems, reached over HTTP.

Lianluo expects this read-only JSON API under ``LIANLUO_DIRECTORY_HTTP_BASE_URL`` (an integration
layer in front of the core systems usually provides it):

    GET /customers?phone=|id_number=|policy_number=|plate_number=|name=&limit=  -> {"items": [customer]}
    GET /customers/{id}                 -> customer          (404 when unknown)
    GET /customers/{id}/policies        -> {"items": [policy]}
    GET /customers/{id}/claims          -> {"items": [claim]}
    GET /policies/{policy_number}       -> policy            (404 when unknown)
    GET /claims/{claim_number}          -> claim             (404 when unknown)

Objects carry the fields of ``backend.directory.records`` with ``org_code`` (the insurer's org code,
as in Lianluo's org tree) in place of ``org_id``/``org_name``; labels are derived here. Records of
orgs outside the caller's scope — or of org codes Lianluo does not know — are not returned.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.problems import Conflict, NotFound, Unavailable
from backend.directory.codes import CLAIM_STATUSES, LINES_OF_BUSINESS, PAYMENT_FREQUENCIES, POLICY_STATUSES
from backend.directory.records import (
    ClaimRecord,
    CustomerIn,
    CustomerPatch,
    CustomerQuery,
    CustomerRecord,
    PolicyRecord,
)
from backend.orgs.models import Org
from backend.orgs.scope import Scope

log = logging.getLogger("lianluo.directory.http")


class HttpDirectory:
    def __init__(self, client: httpx.AsyncClient, base_url: str, session: AsyncSession, scope: Scope,
                 token: str | None = None) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.scope = scope
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._orgs: dict[str, tuple[int, str, str]] | None = None

    async def _org_index(self) -> dict[str, tuple[int, str, str]]:
        if self._orgs is None:
            rows = await self.session.execute(select(Org.code, Org.id, Org.name, Org.path))
            self._orgs = {code: (oid, name, path) for code, oid, name, path in rows}
        return self._orgs

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            resp = await self.client.get(self.base_url + path, params=params, headers=self.headers)
        except httpx.HTTPError as exc:
            log.warning("directory API unreachable: %s %s", type(exc).__name__, path)
            raise Unavailable("核心系统暂不可用，请稍后重试") from None
        if resp.status_code == 404:
            raise NotFound("记录不存在")
        if resp.status_code >= 400:
            log.warning("directory API answered %s for %s", resp.status_code, path)
            raise Unavailable("核心系统暂不可用，请稍后重试")
        try:
            return resp.json()
        except ValueError:
            log.warning("directory API sent non-JSON for %s", path)
            raise Unavailable("核心系统返回了无法识别的数据") from None

    async def _localise(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Swap org_code for org_id/org_name; None when the org is unknown or outside the scope."""
        orgs = await self._org_index()
        found = orgs.get(str(item.get("org_code", "")))
        if found is None:
            log.warning("directory record with unknown org code %r skipped", item.get("org_code"))
            return None
        oid, name, path = found
        if not self.scope.contains_path(path):
            return None
        out = {k: v for k, v in item.items() if k != "org_code"}
        out.update(org_id=oid, org_name=name)
        return out

    async def _records(self, items: list[dict[str, Any]], build) -> list[Any]:  # type: ignore[no-untyped-def]
        out = []
        for item in items:
            local = await self._localise(item)
            if local is None:
                continue
            try:
                out.append(build(local))
            except (ValidationError, KeyError, TypeError) as exc:
                log.warning("directory record skipped, does not match the contract: %s", exc)
        return out

    async def _one(self, path: str, build) -> Any:  # type: ignore[no-untyped-def]
        found = await self._records([await self._get(path)], build)
        if not found:
            raise NotFound("记录不存在")
        return found[0]

    async def search(self, query: CustomerQuery) -> list[CustomerRecord]:
        params = query.model_dump(exclude_none=True)
        data = await self._get("/customers", params)
        return (await self._records(data.get("items", []), _customer))[: query.limit]

    async def customer(self, customer_id: str) -> CustomerRecord:
        return await self._one(f"/customers/{quote(customer_id, safe='')}", _customer)

    async def policies_of(self, customer_id: str) -> list[PolicyRecord]:
        await self.customer(customer_id)
        data = await self._get(f"/customers/{quote(customer_id, safe='')}/policies")
        return await self._records(data.get("items", []), _policy)

    async def claims_of(self, customer_id: str) -> list[ClaimRecord]:
        await self.customer(customer_id)
        data = await self._get(f"/customers/{quote(customer_id, safe='')}/claims")
        return await self._records(data.get("items", []), _claim)

    async def policy(self, policy_number: str) -> PolicyRecord:
        return await self._one(f"/policies/{quote(policy_number, safe='')}", _policy)

    async def claim(self, claim_number: str) -> ClaimRecord:
        return await self._one(f"/claims/{quote(claim_number, safe='')}", _claim)

    async def add_customer(self, data: CustomerIn) -> CustomerRecord:
        raise Conflict("客户资料由核心系统维护，请在核心系统中新增")

    async def update_customer(self, customer_id: str, patch: CustomerPatch) -> CustomerRecord:
        raise Conflict("客户资料由核心系统维护，请在核心系统中修改")


def _customer(d: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord.model_validate({**d, "id": str(d["id"])})


def _policy(d: dict[str, Any]) -> PolicyRecord:
    return PolicyRecord.model_validate({
        **d, "id": str(d["id"]), "holder_id": str(d["holder_id"]), "insured_id": str(d["insured_id"]),
        "line_label": LINES_OF_BUSINESS.get(d["line"], d["line"]),
        "status_label": POLICY_STATUSES.get(d["status"], d["status"]),
        "payment_frequency_label": PAYMENT_FREQUENCIES.get(d["payment_frequency"], d["payment_frequency"]),
    })


def _claim(d: dict[str, Any]) -> ClaimRecord:
    return ClaimRecord.model_validate({
        **d, "id": str(d["id"]), "claimant_id": str(d["claimant_id"]),
        "status_label": CLAIM_STATUSES.get(d["status"], d["status"]),
    })
