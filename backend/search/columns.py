"""What each exported list shows: its columns, with Chinese headers and code values turned into labels.

Personal data is read from the already-presented (masked or audited) schema objects, never from the rows.
Ticket columns that the model may gain later (priority, supervision, deadline state, closing) are exported
once the column exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.codes.models import CodeItem
from backend.orgs.models import Org
from backend.search.export import Column
from backend.search.schemas import RecordHit
from backend.tickets.models import Ticket
from backend.tickets.schemas import TicketOut
from backend.workflow.models import WorkItem
from backend.workflow.processes import process_for

STATUS = {"draft": "暂存", "open": "办理中", "closed": "已办结"}
DUE_STATE = {"normal": "正常", "due_soon": "即将到期", "overdue": "已超期"}
RISK = {"repeat": "重复投诉", "prior_complaint": "曾有投诉", "prior_violation_report": "曾有举报", "risk_words": "含风险词",
        "agency_surrender": "疑似代理退保"}
ACTION = {"submit": "提交", "transfer": "转办", "escalate": "上报", "return": "退回", "countersign": "会签",
          "sign": "会签意见", "propose": "拟办意见", "approve": "审批", "reject": "驳回", "extend": "延期",
          "appraisal": "外部鉴定", "merge": "合并", "reply": "答复", "close": "结案", "reopen": "重开",
          "withdraw": "撤回", "supervise": "督办", "urge": "催办", "merged": "被合并", "remind": "到期提醒",
          "overdue": "超期上报"}
STEP = {"register": "登记", "closed": "已办结"}  # steps of records that no process defines
CODE_TABLES = ("business_type", "channel", "complaint_cause", "line_of_business")


@dataclass
class Labels:
    """Code-table labels and org names an export needs, loaded once per export (orgs as rows arrive)."""

    codes: dict[tuple[str, str], str] = field(default_factory=dict)
    orgs: dict[int, str] = field(default_factory=dict)

    def code(self, table: str, code: str | None) -> str | None:
        return None if code is None else self.codes.get((table, code), code)

    def org(self, org_id: int | None) -> str | None:
        return None if org_id is None else self.orgs.get(org_id, str(org_id))


async def load_labels(session: AsyncSession) -> Labels:
    rows = await session.execute(select(CodeItem.table_name, CodeItem.code, CodeItem.label)
                                 .where(CodeItem.table_name.in_(CODE_TABLES)))
    return Labels(codes={(t, c): label for t, c, label in rows.all()})


async def add_orgs(session: AsyncSession, labels: Labels, org_ids: Iterable[int | None]) -> None:
    """Learn the names of the orgs among ``org_ids`` not known yet (org names are not org data: not scoped)."""
    missing = {i for i in org_ids if i is not None and i not in labels.orgs}
    if missing:
        rows = await session.execute(select(Org.id, Org.name).where(Org.id.in_(missing)))
        labels.orgs.update((org_id, name) for org_id, name in rows.all())


# --- tickets


@dataclass
class TicketRow:
    out: TicketOut  # presented: PII masked or audited
    ticket: Ticket
    labels: Labels


def _detail(row: TicketRow, key: str) -> Any:
    return (row.ticket.details or {}).get(key)


def _later_column(name: str, header: str, show: Any = None) -> list[Column[TicketRow]]:
    if Ticket.__mapper__.columns.get(name) is None:
        return []

    def value(row: TicketRow) -> Any:
        raw = getattr(row.ticket, name, None)
        return show(raw) if show and raw is not None else raw

    return [Column(header, value, 12 if name == "priority" else 20)]


def ticket_columns() -> list[Column[TicketRow]]:
    return [
        Column("工单编号", lambda r: r.out.number, 22),
        Column("业务类型", lambda r: r.labels.code("business_type", r.out.type), 12),
        Column("状态", lambda r: STATUS.get(r.out.status, r.out.status), 10),
        Column("渠道", lambda r: r.labels.code("channel", r.out.channel), 12),
        Column("所属机构", lambda r: r.labels.org(r.out.org_id), 24),
        Column("事由", lambda r: r.out.subject, 40),
        Column("诉求", lambda r: r.out.demand, 40),
        Column("投诉事由", lambda r: r.labels.code("complaint_cause", _detail(r, "cause")), 14),
        Column("投诉子事由", lambda r: r.labels.code("complaint_cause", _detail(r, "sub_cause")), 16),
        Column("险种", lambda r: r.labels.code("line_of_business", _detail(r, "line_of_business")), 14),
        Column("来电号码", lambda r: r.out.caller_phone, 16),
        Column("投诉人", lambda r: r.out.complainant_name, 12),
        Column("投诉人电话", lambda r: r.out.complainant_phone, 16),
        Column("证件号码", lambda r: r.out.complainant_id_number, 22),
        Column("保单号", lambda r: r.out.policy_number, 20),
        Column("受理时间", lambda r: r.out.received_at, 20),
        Column("处理时限", lambda r: r.out.decision_due_at, 20),
        Column("提交时间", lambda r: r.out.submitted_at, 20),
        *_later_column("priority", "优先级"),
        *_later_column("due_state", "时效状态", lambda v: DUE_STATE.get(v, v)),
        *_later_column("supervised_at", "督办时间"),
        *_later_column("closed_at", "办结时间"),
        Column("风险提示", lambda r: [RISK.get(f, f) for f in r.out.risk_flags], 20),
    ]


def step_label(ticket_type: str, step: str) -> str:
    found = process_for(ticket_type).steps.get(step)
    return found.label if found else STEP.get(step, step)


# --- handling records


@dataclass
class RecordRow:
    hit: RecordHit
    labels: Labels


RECORD_COLUMNS: list[Column[RecordRow]] = [
    Column("工单编号", lambda r: r.hit.ticket_number, 22),
    Column("环节", lambda r: step_label(r.hit.ticket_type, r.hit.step), 12),
    Column("处理方式", lambda r: ACTION.get(r.hit.action, r.hit.action), 12),
    Column("办理单位", lambda r: r.labels.org(r.hit.actor_org_id), 24),
    Column("处理人", lambda r: r.hit.actor_name, 12),
    Column("接收时间", lambda r: r.hit.received_at, 20),
    Column("处理时间", lambda r: r.hit.acted_at, 20),
    Column("处理意见", lambda r: r.hit.opinion, 40),
    Column("目标单位", lambda r: r.labels.org(r.hit.target_org_id), 24),
]


# --- 我的待办, 我的已办


@dataclass
class TodoRow:
    item: WorkItem
    ticket: Ticket
    labels: Labels




TO_DO_COLUMNS: list[Column[TodoRow]] = [
    Column("工单编号", lambda r: r.ticket.number, 22),
    Column("业务类型", lambda r: r.labels.code("business_type", r.ticket.type), 12),
    Column("事由", lambda r: r.ticket.subject, 40),
    Column("环节", lambda r: step_label(r.ticket.type, r.item.step), 12),
    Column("办理单位", lambda r: r.labels.org(r.item.org_id), 24),
    Column("接收时间", lambda r: r.item.received_at, 20),
    Column("办理时限", lambda r: r.item.due_at, 20),
]


@dataclass
class DoneRow:
    ticket_number: str
    action: str
    acted_at: Any


DONE_COLUMNS: list[Column[DoneRow]] = [
    Column("工单编号", lambda r: r.ticket_number, 22),
    Column("最近操作", lambda r: ACTION.get(r.action, r.action), 12),
    Column("办理时间", lambda r: r.acted_at, 20),
]
