"""HTTP routes of search: ticket and handling-record search, and the XLSX exports of lists."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import StreamingResponse

from backend.audit.pii import present
from backend.auth.deps import Ctx, Session, allowed
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.search import downloads
from backend.search.export import XLSX
from backend.search.records import search_records
from backend.search.schemas import RecordPage, RecordSearch, TicketPage, TicketSearch
from backend.search.tickets import search_tickets
from backend.tickets.schemas import TicketOut

router = APIRouter(prefix="/api", tags=["search"])

TicketReader = Annotated[Principal, Depends(allowed(Permission.ticket_read))]
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "XLSX 文件"},
    422: {"description": "参数无效，或符合条件的记录超过导出上限"},
}


@router.get("/tickets/search", response_model=TicketPage, summary="工单查询（字段筛选与全文检索，按游标翻页）")
async def ticket_search(session: Session, principal: TicketReader,
                        query: Annotated[TicketSearch, Query()]) -> TicketPage:
    page = await search_tickets(session, principal.scope, query)
    items = await present([TicketOut.of(t) for t in page.tickets], principal, session)
    return TicketPage(items=items, has_more=page.has_more, next_cursor=page.next_cursor)


@router.get("/tickets/search.xlsx", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="导出工单查询结果（参数同工单查询；导出全部结果，忽略 limit 和 cursor）")
async def ticket_export(ctx: Ctx, session: Session, principal: TicketReader,
                        query: Annotated[TicketSearch, Query()]) -> StreamingResponse:
    return await downloads.export_tickets(session, principal, query, ctx.clock.now())


@router.get("/handling-records/search", response_model=RecordPage, summary="处理记录查询（最新在前，按游标翻页）")
async def record_search(session: Session, principal: TicketReader,
                        query: Annotated[RecordSearch, Query()]) -> RecordPage:
    page = await search_records(session, principal.scope, query)
    items = await present([downloads.record_hit(found) for found in page.rows], principal, session)
    return RecordPage(items=items, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


@router.get("/handling-records/search.xlsx", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="导出处理记录查询结果（参数同处理记录查询；导出全部结果，忽略 limit 和 cursor）")
async def record_export(ctx: Ctx, session: Session, principal: TicketReader,
                        query: Annotated[RecordSearch, Query()]) -> StreamingResponse:
    return await downloads.export_records(session, principal, query, ctx.clock.now())


@router.get("/workflow/todo.xlsx", response_class=StreamingResponse, responses=DOWNLOAD, summary="导出我的待办")
async def todo_export(ctx: Ctx, session: Session, principal: TicketReader) -> StreamingResponse:
    return await downloads.export_todo(session, principal, ctx.clock.now())


@router.get("/workflow/done.xlsx", response_class=StreamingResponse, responses=DOWNLOAD, summary="导出我的已办")
async def done_export(ctx: Ctx, session: Session, principal: TicketReader) -> StreamingResponse:
    return await downloads.export_done(session, principal, ctx.clock.now())
