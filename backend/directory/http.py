"""HTTP routes of the customer directory. Every response goes through PII presentation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.core.context import AppContext
from backend.directory.http_adapter import HttpDirectory
from backend.directory.provider import CustomerDirectory
from backend.directory.records import (
    ClaimRecord,
    CustomerIn,
    CustomerPatch,
    CustomerQuery,
    CustomerRecord,
    PolicyRecord,
)
from backend.directory.sql import SqlDirectory

router = APIRouter(prefix="/api", tags=["directory"])


def directory_for(ctx: AppContext, session, principal: Principal) -> CustomerDirectory:  # type: ignore[no-untyped-def]
    settings = ctx.settings
    if settings.directory_backend == "http":
        token = settings.directory_http_token.get_secret_value() if settings.directory_http_token else None
        return HttpDirectory(ctx.outbound_http(), settings.directory_http_base_url, session, principal.scope, token)
    return SqlDirectory(session, ctx.clock)


def _reader(permission: Permission):  # type: ignore[no-untyped-def]
    async def dep(ctx: Ctx, session: Session, principal: Principal = Depends(allowed(permission))):  # type: ignore[no-untyped-def]
        return directory_for(ctx, session, principal), principal

    return dep


CustomerReader = Annotated[tuple[CustomerDirectory, Principal], Depends(_reader(Permission.customer_read))]
CustomerWriter = Annotated[tuple[CustomerDirectory, Principal], Depends(_reader(Permission.customer_write))]
PolicyReader = Annotated[tuple[CustomerDirectory, Principal], Depends(_reader(Permission.policy_read))]
ClaimReader = Annotated[tuple[CustomerDirectory, Principal], Depends(_reader(Permission.claim_read))]


@router.get("/customers", response_model=list[CustomerRecord], summary="查找客户（电话/证件号/保单号/车牌/姓名）")
async def search_customers(reader: CustomerReader, session: Session,
                           query: Annotated[CustomerQuery, Query()]) -> list[CustomerRecord]:
    directory, principal = reader
    return await present(await directory.search(query), principal, session)


@router.post("/customers", response_model=CustomerRecord, status_code=201, summary="登记新客户")
async def add_customer(body: CustomerIn, writer: CustomerWriter, session: Session) -> CustomerRecord:
    directory, principal = writer
    return await present(await directory.add_customer(body), principal, session)


@router.get("/customers/{customer_id}", response_model=CustomerRecord, summary="客户详情")
async def get_customer(customer_id: str, reader: CustomerReader, session: Session) -> CustomerRecord:
    directory, principal = reader
    return await present(await directory.customer(customer_id), principal, session)


@router.patch("/customers/{customer_id}", response_model=CustomerRecord, summary="修改客户联系方式")
async def update_customer(customer_id: str, body: CustomerPatch, writer: CustomerWriter,
                          session: Session) -> CustomerRecord:
    directory, principal = writer
    return await present(await directory.update_customer(customer_id, body), principal, session)


@router.get("/customers/{customer_id}/policies", response_model=list[PolicyRecord], summary="客户的保单")
async def customer_policies(customer_id: str, reader: CustomerReader, session: Session) -> list[PolicyRecord]:
    directory, principal = reader
    return await present(await directory.policies_of(customer_id), principal, session)


@router.get("/customers/{customer_id}/claims", response_model=list[ClaimRecord], summary="客户的赔案")
async def customer_claims(customer_id: str, reader: CustomerReader, session: Session) -> list[ClaimRecord]:
    directory, principal = reader
    return await present(await directory.claims_of(customer_id), principal, session)


@router.get("/policies/{policy_number}", response_model=PolicyRecord, summary="保单详情")
async def get_policy(policy_number: str, reader: PolicyReader, session: Session) -> PolicyRecord:
    directory, principal = reader
    return await present(await directory.policy(policy_number), principal, session)


@router.get("/claims/{claim_number}", response_model=ClaimRecord, summary="赔案详情")
async def get_claim(claim_number: str, reader: ClaimReader, session: Session) -> ClaimRecord:
    directory, principal = reader
    return await present(await directory.claim(claim_number), principal, session)
