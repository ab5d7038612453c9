"""Exporting regulator complaints back in the 12378 layout, with the handling results the regulator wants
(处理结果, 是否满足诉求, 告知时间, 告知方式) taken from each ticket's latest 答复 (reply) handling record.

Personal data goes through the one PII mechanism: masked unless the caller holds ``pii.unmask``, in which case
the export is audited naming every ticket revealed.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.pii import IdNumber, Phone, present
from backend.audit.services import record
from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.codes.services import active_items
from backend.core.problems import Invalid
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.regulator.columns import BY_FIELD, COLUMNS, FEEDBACK_HEADERS
from backend.regulator.files import write_csv, write_xlsx
from backend.regulator.models import RegulatorComplaint
from backend.tickets.models import Ticket, TicketStatus
from backend.tickets.numbering import SHANGHAI
from backend.workflow.models import HandlingRecord
from backend.workflow.processes import Action

MAX_ROWS = 50_000
CSV_ENCODING = "gb18030"  # GBK's superset: the same bytes for every GBK character, and no character is lost
EXPORTED = [c for c in COLUMNS if c.field != "cause"]  # the 12378 layout; 事由分类 is ours
METHOD_LABELS = {"phone": "电话", "sms": "短信", "letter": "信函", "in_person": "面谈", "email": "电子邮件",
                 "wechat": "微信"}


HEADERS = [c.header for c in EXPORTED] + list(FEEDBACK_HEADERS)


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch: int | None = Field(None, description="导入批次")
    received_from: date | None = Field(None, description="接收日期起（含，北京时间）")
    received_to: date | None = Field(None, description="接收日期止（含，北京时间）")
    status: TicketStatus | None = Field(None, description="工单状态")
    format: ExportFormat = Field(ExportFormat.xlsx, description="xlsx，或 csv（GBK 编码）")


class ExportRow(BaseModel):
    """One exported complaint; ``id`` is its ticket's, so an unmasked export is audited per ticket."""

    __pii_subject__ = "ticket"

    id: int
    values: dict[str, str]
    feedback: list[str]
    id_number: IdNumber | None = None
    phone: Phone | None = None


class TooManyRows(Invalid):
    title, code = "导出数据过多", "export-too-large"


def _at(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _day(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d") if moment else ""


def _raw(raw: dict[str, str], field: str) -> str:
    column = BY_FIELD[field]
    return next((raw[h] for h in (column.header, *column.aliases) if raw.get(h)), "")


async def _complaints(session: AsyncSession, q: ExportQuery) -> list[tuple[RegulatorComplaint, Ticket]]:
    received = func.coalesce(RegulatorComplaint.received_at, Ticket.received_at)
    stmt = select(RegulatorComplaint, Ticket).join(Ticket, Ticket.id == RegulatorComplaint.ticket_id)
    if q.batch is not None:
        stmt = stmt.where(RegulatorComplaint.import_batch_id == q.batch)
    if q.status is not None:
        stmt = stmt.where(Ticket.status == q.status)
    if q.received_from is not None:
        stmt = stmt.where(received >= datetime.combine(q.received_from, time(0), tzinfo=SHANGHAI))
    if q.received_to is not None:
        stmt = stmt.where(received < datetime.combine(q.received_to + timedelta(days=1), time(0), tzinfo=SHANGHAI))
    stmt = stmt.order_by(received, RegulatorComplaint.id).limit(MAX_ROWS + 1)
    rows = [(c, t) for c, t in (await session.execute(stmt)).all()]
    if len(rows) > MAX_ROWS:
        raise TooManyRows(f"符合条件的投诉超过 {MAX_ROWS} 条，请缩小导出范围（批次或日期）")
    return rows


async def _latest_replies(session: AsyncSession, ticket_ids: list[int]) -> dict[int, HandlingRecord]:
    """Each ticket's latest reply. The tickets are visible to the caller; their records are, wherever the
    actor sits."""
    latest: dict[int, HandlingRecord] = {}
    for i in range(0, len(ticket_ids), 500):
        stmt = across_org_tree(select(HandlingRecord).where(HandlingRecord.ticket_id.in_(ticket_ids[i:i + 500]),
                                                            HandlingRecord.action == Action.reply)
                               .order_by(HandlingRecord.acted_at, HandlingRecord.id))
        for reply in await session.scalars(stmt):
            latest[reply.ticket_id] = reply
    return latest


def _feedback(reply: HandlingRecord | None) -> list[str]:
    if reply is None:
        return ["", "", "", ""]
    details = reply.details or {}
    satisfied = details.get("satisfied")
    told_at = datetime.fromisoformat(details["told_at"]) if details.get("told_at") else None
    return [details.get("result") or reply.opinion or "", "" if satisfied is None else ("是" if satisfied else "否"),
            _at(told_at), METHOD_LABELS.get(details.get("method", ""), details.get("method", ""))]


async def export(session: AsyncSession, principal: Principal, q: ExportQuery) -> tuple[bytes, str]:
    """The file (XLSX, or CSV in GB18030/GBK) and its media type."""
    found = await _complaints(session, q)
    replies = await _latest_replies(session, [t.id for _, t in found])
    org_ids = {c.org_id for c, _ in found}
    orgs = {o.id: o.name for o in await session.scalars(select(Org).where(Org.id.in_(org_ids)))} if org_ids else {}
    lines = {i.code: i.label for i in await active_items(session, "line_of_business")}
    rows = []
    for complaint, ticket in found:
        line = (ticket.details or {}).get("line_of_business")
        rows.append(ExportRow(id=ticket.id, id_number=ticket.complainant_id_number, phone=ticket.complainant_phone,
                              values={
                                  "regulator_number": complaint.regulator_number, "source": complaint.source,
                                  "received_at": _at(complaint.received_at),
                                  "transferred_at": _at(complaint.transferred_at), "due_at": _day(complaint.due_at),
                                  "complainant_name": ticket.complainant_name or "",
                                  "respondent_org": orgs.get(complaint.org_id, ""),
                                  "line_of_business": lines.get(line, line or ""),
                                  "policy_number": ticket.policy_number or "", "subject": ticket.subject,
                                  "demand": ticket.demand or "", "attachments": _raw(complaint.raw, "attachments"),
                                  "repeat_flag": "是" if complaint.repeat_flag else "否"},
                              feedback=_feedback(replies.get(ticket.id))))
    table = []
    for row in await present(rows, principal, session):
        values = {**row.values, "id_number": row.id_number or "", "phone": row.phone or ""}
        table.append([values[c.field] for c in EXPORTED] + row.feedback)
    unmasked = principal.can(Permission.pii_unmask)
    await record(session, principal, action="regulator.export", subject_type="regulator_complaint",
                 detail={"rows": len(table), "unmasked": unmasked, "format": q.format.value,
                         "filters": q.model_dump(mode="json", exclude={"format"}, exclude_none=True)})
    if q.format is ExportFormat.csv:
        data = await asyncio.to_thread(write_csv, HEADERS, table, CSV_ENCODING)
        return data, f"text/csv; charset={CSV_ENCODING}"
    data = await asyncio.to_thread(write_xlsx, HEADERS, table)
    return data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
