"""Exports of the lists users work from: ticket search, handling-record search, 我的待办, 我的已办.

An export is the list the caller would page through, whole: same filters, same scope, same masking (each chunk
goes through ``present``, which audits PII shown in clear). A list longer than the cap is refused before any
work is done. Every export is itself audited (``export.xlsx``: which list, filters, rows, PII in clear or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import StreamingResponse

from backend.audit.pii import PiiKind, mask, present
from backend.audit.services import record
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.search import export, records, tickets
from backend.search.columns import (
    DONE_COLUMNS,
    RECORD_COLUMNS,
    TO_DO_COLUMNS,
    DoneRow,
    Labels,
    RecordRow,
    TicketRow,
    TodoRow,
    add_orgs,
    load_labels,
    ticket_columns,
)
from backend.search.export import XlsxWriter, check_size, xlsx_response
from backend.search.schemas import RecordFilters, RecordHit, TicketFilters
from backend.tickets.numbering import SHANGHAI
from backend.tickets.schemas import TicketOut
from backend.workflow.lists import done, todo

CHUNK = 1000
WORK_LIST_MAX = 10_000  # a personal to-do or done list; 我的已办 reads several records per ticket
PII_FILTERS = {"caller_phone": PiiKind.phone, "complainant_phone": PiiKind.phone, "id_number": PiiKind.id_number}

R = TypeVar("R")


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]


def _filename(title: str, now: datetime) -> str:
    return f"{title}-{now.astimezone(SHANGHAI):%Y%m%d%H%M}.xlsx"


async def _audit(session: AsyncSession, principal: Principal, kind: str, rows: int,
                 filters: BaseModel | None = None, *, pii: bool = False) -> None:
    """``pii``: the list carries personal data, shown in clear to this principal if it may unmask."""
    shown = filters.model_dump(mode="json", exclude_none=True, exclude={"limit", "cursor"}) if filters else {}
    # The audit log is read by admins, who do not see PII: the filter values are masked like any other.
    shown = {k: mask(PII_FILTERS[k], v) if k in PII_FILTERS else v for k, v in shown.items()}
    await record(session, principal, action="export.xlsx", subject_type=kind,
                 detail={"list": kind, "rows": rows, "filters": shown,
                         "pii_in_clear": pii and principal.can(Permission.pii_unmask)})


async def _write(writer: XlsxWriter[R], filename: str, fill: Any) -> StreamingResponse:
    try:
        await fill()
        return await writer.response(filename)
    except BaseException:
        writer.discard()
        raise


async def export_tickets(session: AsyncSession, principal: Principal, f: TicketFilters,
                         now: datetime) -> StreamingResponse:
    ids = await tickets.matching_ids(session, principal.scope, f, export.MAX_ROWS)
    check_size(len(ids), export.MAX_ROWS)
    labels = await load_labels(session)
    writer: XlsxWriter[TicketRow] = XlsxWriter(ticket_columns(), "工单")

    async def fill() -> None:
        for chunk in _chunks(ids):
            found = await tickets.tickets_by_ids(session, chunk)
            await add_orgs(session, labels, (t.org_id for t in found))
            shown: Sequence[TicketOut] = await present([TicketOut.of(t) for t in found], principal, session)
            await writer.append(TicketRow(out, t, labels) for out, t in zip(shown, found, strict=True))
        await _audit(session, principal, "ticket", writer.rows, f, pii=True)

    return await _write(writer, _filename("工单查询", now), fill)


def record_hit(found: records.FoundRecord) -> RecordHit:
    r = found.record
    return RecordHit(id=r.id, ticket_id=r.ticket_id, step=r.step, action=r.action, actor_user_id=r.actor_user_id,
                     actor_name=found.actor_name, actor_org_id=r.org_id, received_at=r.received_at,
                     acted_at=r.acted_at, opinion=r.opinion, target_org_id=r.target_org_id,
                     target_user_id=r.target_user_id, details=r.details, ticket_number=found.ticket_number,
                     ticket_type=found.ticket_type)


async def export_records(session: AsyncSession, principal: Principal, f: RecordFilters,
                         now: datetime) -> StreamingResponse:
    ids = await records.matching_ids(session, principal.scope, f, export.MAX_ROWS)
    check_size(len(ids), export.MAX_ROWS)
    labels = Labels()
    writer: XlsxWriter[RecordRow] = XlsxWriter(RECORD_COLUMNS, "处理记录")

    async def fill() -> None:
        for chunk in _chunks(ids):
            found = await records.records_by_ids(session, principal.scope, chunk)
            await add_orgs(session, labels, (o for x in found for o in (x.record.org_id, x.record.target_org_id)))
            shown: Sequence[RecordHit] = await present([record_hit(x) for x in found], principal, session)
            await writer.append(RecordRow(hit, labels) for hit in shown)
        await _audit(session, principal, "handling_record", writer.rows, f)

    return await _write(writer, _filename("处理记录查询", now), fill)


async def export_todo(session: AsyncSession, principal: Principal, now: datetime) -> StreamingResponse:
    items = await todo(session, principal, limit=WORK_LIST_MAX + 1)
    check_size(len(items), WORK_LIST_MAX)
    labels = await load_labels(session)
    await add_orgs(session, labels, (item.org_id for item, _ in items))
    await _audit(session, principal, "todo", len(items))
    return await xlsx_response([TodoRow(item, ticket, labels) for item, ticket in items], TO_DO_COLUMNS,
                               _filename("我的待办", now), "我的待办")


async def export_done(session: AsyncSession, principal: Principal, now: datetime) -> StreamingResponse:
    rows = await done(session, principal, limit=WORK_LIST_MAX + 1)
    check_size(len(rows), WORK_LIST_MAX)
    await _audit(session, principal, "done", len(rows))
    return await xlsx_response([DoneRow(number, r.action, r.acted_at) for r, number in rows], DONE_COLUMNS,
                               _filename("我的已办", now), "我的已办")
