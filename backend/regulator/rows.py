"""Checking each row of a 12378 file and turning a good one into what the import writes: the ticket to
register and the regulator's own data. Pure (no database): the org tree and code tables it needs are
looked up once per file and passed in as :class:`Lookups`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from backend.codes.models import CodeItem
from backend.directory.identity import id_number_problem, normalise_id_number, normalise_phone, phone_problem
from backend.orgs.models import Org
from backend.orgs.scope import Scope
from backend.regulator import cells
from backend.regulator.columns import BY_FIELD, header_of
from backend.regulator.files import Sheet
from backend.tickets.models import TicketType
from backend.tickets.schemas import TicketIn

CHANNEL_12378 = "regulator_12378"  # code table ``channel``: 12378转办

# TicketIn field → the file's column it came from (for errors the ticket schema itself finds).
_TICKET_FIELDS = {"subject": "subject", "demand": "demand", "complainant_name": "complainant_name",
                  "complainant_phone": "phone", "complainant_id_number": "id_number",
                  "policy_number": "policy_number", "details": "subject", "received_at": "received_at"}
MAX_NUMBER_LENGTH = 64


@dataclass
class Lookups:
    """The org tree and code tables a file's rows are checked against."""

    scope: Scope
    own_org_id: int
    orgs: list[Org]  # the orgs the file names (by name or code), wherever they are
    lines: list[CodeItem]  # line_of_business
    causes: list[CodeItem]  # complaint_cause (causes and their sub-causes)

    def org(self, named: str) -> int:
        """The org a row is assigned to: the named one (by code or name) if it lies in the importer's subtree."""
        if not named:
            return self.own_org_id
        matches = [o for o in self.orgs if o.code == named] or [o for o in self.orgs if o.name == named]
        if not matches:
            raise ValueError(f"机构「{named}」不存在")
        mine = [o for o in matches if self.scope.contains_path(o.path)]
        if not mine:
            raise ValueError(f"机构「{named}」不在您的管辖范围内")
        mine = [o for o in mine if o.active]
        if not mine:
            raise ValueError(f"机构「{named}」已停用")
        if len(mine) > 1:
            raise ValueError(f"名为「{named}」的机构有多个，请填写机构代码")
        return mine[0].id

    def line_of_business(self, label: str) -> str:
        for item in self.lines:
            if label in (item.label, item.code):
                return item.code
        raise ValueError(f"险种「{label}」不在险种代码表中")

    def cause_named(self, label: str) -> tuple[str, str | None]:
        """(cause, sub-cause) of a label such as 理赔纠纷, 理赔时效过长 or 理赔纠纷/理赔时效过长."""
        candidates = [label, re.split(r"[/／\-－]", label)[-1].strip()]
        for candidate in candidates:
            for item in self.causes:
                if candidate in (item.label, item.code):
                    return (item.parent_code, item.code) if item.parent_code else (item.code, None)
        raise ValueError(f"事由分类「{label}」不在投诉事由代码表中")

    def cause_in(self, subject: str) -> tuple[str, str | None]:
        """The cause a free-text 投诉事由 names: its most specific code-table label found in the text."""
        named = sorted((i for i in self.causes if i.label in subject), key=lambda i: (i.parent_code is None,
                                                                                      -len(i.label)))
        if not named:
            raise ValueError("无法从投诉事由中识别事由分类（如 理赔纠纷、销售纠纷），请填写「事由分类」列")
        item = named[0]
        return (item.parent_code, item.code) if item.parent_code else (item.code, None)


@dataclass
class GoodRow:
    row: int
    regulator_number: str
    org_id: int
    source: str
    received_at: datetime | None
    transferred_at: datetime | None
    due_at: datetime | None
    repeat_flag: bool
    ticket: TicketIn
    raw: dict[str, str]


@dataclass
class Checked:
    good: list[GoodRow] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (row, number) already imported
    errors: list[dict[str, Any]] = field(default_factory=list)  # {row, column, message}
    error_rows: int = 0


def numbers_in(sheet: Sheet, found: dict[str, int]) -> set[str]:
    index = found["regulator_number"]
    return {n for _, values in sheet.rows if (n := cells.text(values[index] if index < len(values) else None))}


def names_in(sheet: Sheet, found: dict[str, int]) -> set[str]:
    index = found.get("respondent_org")
    if index is None:
        return set()
    return {n for _, values in sheet.rows if (n := cells.text(values[index] if index < len(values) else None))}


class _Row:
    """One row being checked: reads cells by field, collects this row's errors."""

    def __init__(self, number: int, values: list[Any], sheet: Sheet, found: dict[str, int]) -> None:
        self.number, self.values, self.sheet, self.found = number, values, sheet, found
        self.errors: list[dict[str, Any]] = []

    def cell(self, name: str) -> Any:
        index = self.found.get(name)
        return self.values[index] if index is not None and index < len(self.values) else None

    def text(self, name: str) -> str:
        return cells.text(self.cell(name))

    def error(self, name: str, message: str) -> None:
        self.errors.append({"row": self.number, "column": header_of(name, self.sheet.header, self.found),
                            "message": message})

    def parsed(self, name: str, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(self.cell(name))
        except ValueError as exc:
            self.error(name, str(exc))
            return None

    def raw(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for index, header in enumerate(self.sheet.header):
            value = cells.text(self.values[index] if index < len(self.values) else None)
            if value:
                out[cells.text(header) or f"第{index + 1}列"] = value
        return out


def check_rows(sheet: Sheet, found: dict[str, int], lookups: Lookups, existing: set[str]) -> Checked:
    """Sort every row into good, duplicate (already imported) or refused (with its errors)."""
    result = Checked()
    seen: set[str] = set()
    for number, values in sheet.rows:
        row = _Row(number, values, sheet, found)
        good = _check(row, lookups, existing, seen, result)
        if row.errors:
            result.errors.extend(row.errors)
            result.error_rows += 1
        elif good is not None:
            result.good.append(good)
    return result


def _check(row: _Row, lookups: Lookups, existing: set[str], seen: set[str], result: Checked) -> GoodRow | None:
    regulator_number = row.text("regulator_number")
    if not regulator_number:
        row.error("regulator_number", "投诉编号不能为空")
    elif len(regulator_number) > MAX_NUMBER_LENGTH:
        row.error("regulator_number", f"投诉编号超过 {MAX_NUMBER_LENGTH} 个字符")
    elif regulator_number in seen:
        row.error("regulator_number", f"投诉编号「{regulator_number}」在文件中重复出现")
    else:
        seen.add(regulator_number)
        if regulator_number in existing:
            result.duplicates.append((row.number, regulator_number))
            return None
    return _complaint(row, regulator_number, lookups)


def _required(row: _Row, names: Iterable[str]) -> None:
    for name in names:
        if not row.text(name):
            row.error(name, f"{BY_FIELD[name].header}不能为空")


def _complaint(row: _Row, regulator_number: str, lookups: Lookups) -> GoodRow | None:
    _required(row, ("complainant_name", "subject"))
    phone, id_number = row.text("phone"), row.text("id_number")
    if not phone and not id_number:
        row.error("phone" if "phone" in row.found else "id_number", "联系电话和证件号至少填写一项")
    if phone and (problem := phone_problem(phone)):
        row.error("phone", problem)
    if id_number and (problem := id_number_problem(id_number)):
        row.error("id_number", problem)
    source = row.parsed("source", cells.source)
    repeat_flag = row.parsed("repeat_flag", cells.flag)
    received_at = row.parsed("received_at", cells.when)
    transferred_at = row.parsed("transferred_at", cells.when)
    due = row.parsed("due_at", cells.when)
    due_at = cells.end_of_day(due) if due is not None else None
    if received_at and transferred_at and transferred_at < received_at:
        row.error("transferred_at", "转送时间早于接收时间")
    if due_at is not None and received_at is not None and due_at < received_at:
        row.error("due_at", "到期日早于接收时间")
    org_id = row.parsed("respondent_org", lambda v: lookups.org(cells.text(v)))
    details: dict[str, Any] = {}
    if row.text("line_of_business"):
        details["line_of_business"] = row.parsed("line_of_business", lambda v: lookups.line_of_business(cells.text(v)))
    subject = row.text("subject")
    cause = (row.parsed("cause", lambda v: lookups.cause_named(cells.text(v))) if row.text("cause")
             else row.parsed("subject", lambda v: lookups.cause_in(cells.text(v))) if subject else None)
    if row.errors:
        return None
    details["cause"], sub_cause = cause
    if sub_cause:
        details["sub_cause"] = sub_cause
    details["respondent"] = {"org_id": org_id}
    try:
        ticket = TicketIn.model_validate({
            "type": TicketType.complaint, "submit": True, "channel": CHANNEL_12378, "subject": subject,
            "demand": row.text("demand") or None, "complainant_name": row.text("complainant_name"),
            "complainant_phone": normalise_phone(phone) if phone else None,
            "complainant_id_number": normalise_id_number(id_number) if id_number else None,
            "policy_number": row.text("policy_number") or None,
            # The insurer receives the complaint when the regulator transfers it to them.
            "received_at": transferred_at or received_at, "details": details})
    except ValidationError as exc:
        for e in exc.errors():
            name = _TICKET_FIELDS.get(str(e["loc"][0]), "subject") if e["loc"] else "subject"
            row.error(name, e["msg"].removeprefix("Value error, ") if e["type"] == "value_error" else
                      {"string_too_long": "内容过长"}.get(e["type"], e["msg"]))
        return None
    return GoodRow(row=row.number, regulator_number=regulator_number, org_id=org_id, source=source,
                   received_at=received_at, transferred_at=transferred_at, due_at=due_at,
                   repeat_flag=repeat_flag, ticket=ticket, raw=row.raw())
