"""HTTP routes of the screen pop: permission, parse, service, present (PII masked or audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.audit.pii import present
from backend.auth.deps import Ctx, CurrentPrincipal, Session
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.directory.http import directory_for
from backend.directory.records import CustomerRecord
from backend.screenpop import services
from backend.screenpop.schemas import ScreenPopOut, ScreenPopQuery, ScreenPopSearch

router = APIRouter(prefix="/api", tags=["screen-pop"])


async def _pop_reader(principal: CurrentPrincipal) -> Principal:
    # The pop shows the directory and the caller's tickets: both rights are needed, as for reading them one by one.
    principal.require(Permission.customer_read)
    principal.require(Permission.ticket_read)
    return principal


PopReader = Annotated[Principal, Depends(_pop_reader)]


@router.get("/screen-pop", response_model=ScreenPopOut, summary="来电弹屏：来电人全景与快捷登记",
            responses={404: {"description": "选定的客户不存在（或不在本机构及下级）"}})
async def screen_pop(ctx: Ctx, session: Session, principal: PopReader,
                     query: Annotated[ScreenPopQuery, Query()]) -> ScreenPopOut:
    directory = directory_for(ctx, session, principal)
    pop = await services.screen_pop(session, directory, principal, ctx.clock.now(), query)
    return await present(pop, principal, session)


@router.get("/screen-pop/search", response_model=list[CustomerRecord], summary="未识别来电：按电话/证件号/保单号/车牌查找客户")
async def search(ctx: Ctx, session: Session, principal: PopReader,
                 query: Annotated[ScreenPopSearch, Query()]) -> list[CustomerRecord]:
    directory = directory_for(ctx, session, principal)
    return await present(await services.search(directory, query), principal, session)
